/**
 * The `tollgate` command: tenants, plans, API keys, persisted-operation manifests and supergraphs in the control
 * plane, development tokens, migrations. Every change is written to MongoDB and announced on Redis, so running
 * gateways apply it within 5 s (at once when Redis is up).
 *
 * `runTollgate` takes its arguments and streams, and returns the exit code — 0 ok, 1 failure, 2 usage — so the
 * tests run it in-process; cli/tollgate.ts is the process around it. Errors are one line on stderr, no stack.
 * The commands are defined one file per group (tenant.ts, plan.ts, key.ts, manifest.ts, supergraph.ts,
 * token-command.ts, cost.ts, migrate.ts, usage.ts); MongoDB, Redis and the supergraph come from the gateway's own
 * validated configuration (gateway/src/config-common.ts).
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_CONTROL_DB,
  DEFAULT_MONGODB_URI,
  DEFAULT_REDIS_URL,
  loadCommonConfig,
  type CommonConfig,
} from '../gateway/src/config-common';
import { openControlPlane, type ControlPlane } from '../gateway/src/control-plane/open';
import { RegistryValidationError } from '../gateway/src/control-plane/registry-common';
import { createChangePublisher, type ChangePublisher } from '../gateway/src/tenants/changes';
import { UsageError, type CliIo, type Command, type Options, type Values } from './command';
import { COST_COMMANDS } from './cost';
import { KEY_COMMANDS } from './key';
import { LIFECYCLE_COMMANDS } from './lifecycle-commands';
import { MANIFEST_COMMANDS } from './manifest';
import { MIGRATE_COMMANDS } from './migrate';
import { PLAN_COMMANDS } from './plan';
import { SUPERGRAPH_COMMANDS } from './supergraph';
import { TENANT_COMMANDS } from './tenant';
import { TENANT_MOVE_COMMANDS } from './tenant-move';
import { ROTATE_KEY_COMMANDS } from './rotate-key';
import { TOKEN_COMMANDS } from './token-command';
import { USAGE_COMMANDS } from './usage';
import { closest } from './suggest';
import { AUDIT_COMMANDS } from './audit';
import { controlEvent, operatorHmacKey, operatorOf, writeControlEvents } from './audit-record';
import type { AuditEventInput } from '../gateway/src/audit/event';

export { UsageError, type CliIo } from './command';

const GLOBAL_OPTIONS: Options = { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } };
const ENVIRONMENT = `Environment: MONGODB_URI (default ${DEFAULT_MONGODB_URI}), CONTROL_DB (default ${DEFAULT_CONTROL_DB}),
REDIS_URL (default ${DEFAULT_REDIS_URL}, where running gateways hear about changes).`;

/** In the order `--help` lists them. */
const COMMANDS: Record<string, Command> = {
  ...TENANT_COMMANDS,
  ...TENANT_MOVE_COMMANDS,
  ...ROTATE_KEY_COMMANDS,
  ...LIFECYCLE_COMMANDS,
  ...PLAN_COMMANDS,
  ...KEY_COMMANDS,
  ...MANIFEST_COMMANDS,
  ...TOKEN_COMMANDS,
  ...COST_COMMANDS,
  ...SUPERGRAPH_COMMANDS,
  ...MIGRATE_COMMANDS,
  ...AUDIT_COMMANDS,
  ...USAGE_COMMANDS,
};

const GROUPS = ['tenant', 'plan', 'key', 'manifest', 'supergraph', 'audit'];

/** How usage text names the command when `io.program` does not say (the npm script, from a checkout). */
const NPM_SCRIPT = 'npm run --silent tollgate --';

function overview(program: string): string {
  const lines = Object.values(COMMANDS).map((command) => `  ${command.usage.split('\n')[0]}`);
  return `Usage: ${program} <command> [options]

Commands:
${lines.join('\n')}

Every command takes --help, and --json for JSON output. Exit codes: 0 ok, 1 failure, 2 usage.
${ENVIRONMENT}`;
}

function commandHelp(command: Command, program: string): string {
  return `Usage: ${program} ${command.usage} [--json]

${command.summary}

${ENVIRONMENT}`;
}

function groupHelp(group: string, program: string): string {
  const lines = Object.entries(COMMANDS)
    .filter(([name]) => name.startsWith(`${group} `))
    .map(([, command]) => `  ${command.usage.split('\n')[0]}\n      ${command.summary}`);
  return `Usage: ${program} ${group} <action> [options]\n\n${lines.join('\n')}`;
}

/**
 * `--max-cost -5` as `--max-cost=-5`: node's parseArgs reads a value that starts with `-` as an option and answers
 * "Unknown option '-5'"; joined, the value reaches the command, whose check names the flag and the value.
 */
function joinNegativeValues(args: readonly string[], options: Options): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const option = arg.startsWith('--') && !arg.includes('=') ? options[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/**
 * The command a mistyped one probably meant: a group's action is compared with that group's actions only (so
 * `tenant delete` is no typo of `tenant create`), a mistyped group or single command with the groups and commands.
 */
function suggestCommand(first: string, second: string | undefined): string | undefined {
  const actionsOf = (group: string) =>
    Object.keys(COMMANDS)
      .filter((name) => name.startsWith(`${group} `))
      .map((name) => name.slice(group.length + 1));
  if (GROUPS.includes(first)) {
    const action = second === undefined ? undefined : closest(second, actionsOf(first));
    return action === undefined ? undefined : `${first} ${action}`;
  }
  const single = Object.keys(COMMANDS).filter((name) => !name.includes(' '));
  const word = closest(first, [...GROUPS, ...single]);
  if (word === undefined || !GROUPS.includes(word)) return word;
  return second !== undefined && actionsOf(word).includes(second) ? `${word} ${second}` : word;
}

/** parseArgs's complaint, with a "did you mean" for a mistyped option (node's own text suggests `--` instead). */
function parseProblem(error: unknown, options: Options): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '(-[^']+)'/.exec(message)?.[1];
  if (unknown === undefined) return message;
  const suggestion = closest(unknown.replace(/^-+/, ''), Object.keys(options));
  return `unknown option ${unknown}${suggestion ? `; did you mean --${suggestion}?` : ''}`;
}

export async function runTollgate(argv: readonly string[], io: CliIo): Promise<number> {
  const program = io.program ?? NPM_SCRIPT;
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.stderr : io.stdout)(`${overview(program)}\n`);
    return first === undefined ? 2 : 0;
  }
  let name = first;
  if (GROUPS.includes(first)) {
    if (second === undefined || second === '--help' || second === '-h') {
      (second === undefined ? io.stderr : io.stdout)(`${groupHelp(first, program)}\n`);
      return second === undefined ? 2 : 0;
    }
    name = `${first} ${second}`;
  }
  const command = COMMANDS[name];
  if (!command) {
    const suggestion = suggestCommand(first, second);
    io.stderr(
      `tollgate: unknown command "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''}\n${overview(program)}\n`,
    );
    return 2;
  }
  let controlPlane: ControlPlane | undefined;
  let changes: ChangePublisher | undefined;
  try {
    let parsed: { values: Values; positionals: string[] };
    try {
      const options = { ...GLOBAL_OPTIONS, ...command.options };
      parsed = parseArgs({
        args: joinNegativeValues(argv.slice(name.split(' ').length), options),
        options,
        allowPositionals: true,
        strict: true,
      }) as { values: Values; positionals: string[] };
    } catch (error) {
      throw new UsageError(parseProblem(error, { ...GLOBAL_OPTIONS, ...command.options }));
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout(`${commandHelp(command, program)}\n`);
      return 0;
    }
    const expected = command.positionals ?? [];
    if (positionals.length !== expected.length) {
      throw new UsageError(
        expected.length === 0
          ? 'this command takes no arguments'
          : `expected ${expected.map((p) => `<${p}>`).join(' ')}`,
      );
    }
    let config: CommonConfig | undefined;
    const loadConfig = () => (config ??= loadCommonConfig(io.env));
    const auditEvents: AuditEventInput[] = [];
    const code = await command.run({
      values,
      positionals,
      io,
      config: loadConfig,
      async controlPlane() {
        const { controlPlane: settings, redisUrl } = loadConfig();
        changes ??= createChangePublisher({
          redisUrl,
          dbName: settings.dbName,
          onError: (error) =>
            io.stderr(
              `tollgate: warning: the change is saved but could not be announced on Redis (${error instanceof Error ? error.message : String(error)}); running gateways apply it within 5 s\n`,
            ),
        });
        // Commands change data, never indexes: those are `tollgate migrate`'s (migrate.ts), which a command
        // without them names.
        controlPlane ??= await openControlPlane({
          mongoUri: settings.mongoUri,
          dbName: settings.dbName,
          changes,
          indexes: 'verify',
        });
        return controlPlane;
      },
      audit(tenant, details) {
        auditEvents.push(controlEvent(name, tenant, operatorOf(io.env), details, operatorHmacKey(io.env)));
      },
      print(value, human) {
        io.stdout(`${values.json ? JSON.stringify(value, null, 2) : human()}\n`);
      },
    });
    if (auditEvents.length > 0) {
      try {
        await writeControlEvents(io.env, loadConfig().controlPlane, auditEvents);
      } catch (error) {
        // The change is made; its record is not: say so, and fail, so a script does not carry on as if all is well.
        io.stderr(
          `tollgate: the change is saved but its audit event could not be written (${error instanceof Error ? error.message : String(error)})\n`,
        );
        return 1;
      }
    }
    // Only a number is an exit code: some commands end with `return io.stdout(…)`, whose value means nothing here.
    return typeof code === 'number' ? code : 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError || error instanceof RegistryValidationError) {
      io.stderr(`tollgate: ${message}\n${commandHelp(command, program)}\n`);
      return 2;
    }
    io.stderr(`tollgate: ${message}\n`);
    return 1;
  } finally {
    await controlPlane?.close();
    await changes?.close();
  }
}
