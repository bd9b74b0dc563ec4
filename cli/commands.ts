/**
 * The `tollgate` command: tenants, plans, API keys and persisted-operation manifests in the control plane, and
 * development tokens. Every change
 * is written to MongoDB and announced on Redis, so running gateways apply it within 5 s (at once when Redis is up).
 *
 * `runTollgate` takes its arguments and streams, and returns the exit code — 0 ok, 1 failure, 2 usage — so the
 * tests run it in-process; cli/tollgate.ts is the process around it. Errors are one line on stderr, no stack.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { buildApiSchema } from '../gateway/src/schema/api-schema';
import { DEFAULT_CONTROL_DB, DEFAULT_MONGODB_URI, DEFAULT_SUPERGRAPH_PATH } from '../gateway/src/config';
import { API_KEY_SCOPES, apiKeyStatus, type ApiKeyRecord } from '../gateway/src/credentials/api-keys';
import { checkManifest } from '../gateway/src/persisted/manifest';
import type { ManifestVersion } from '../gateway/src/persisted/registry';
import { createChangePublisher, type ChangePublisher } from '../gateway/src/tenants/changes';
import type { Plan } from '../gateway/src/tenants/plan';
import { RegistryValidationError } from '../gateway/src/control-plane/registry-common';
import { openControlPlane, type ControlPlane } from '../gateway/src/control-plane/open';
import type { PlanChange } from '../gateway/src/tenants/registry';
import { AUTHZ_MODES, COST_MODES, SAFELIST_MODES, type TenantRecord, type TenantSettings } from '../gateway/src/tenants/tenant';
import { mintDevToken, parseDevTokenRequest } from './dev-token';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** The command line itself is wrong: exit code 2, with the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Context {
  values: Values;
  positionals: string[];
  io: CliIo;
  /** The control plane, opened on first use and closed when the command ends. */
  controlPlane(): Promise<ControlPlane>;
  /** Prints `value` as JSON with --json, else the human text. */
  print(value: unknown, human: () => string): void;
}

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  /** Names of the positional arguments, all required. */
  positionals?: string[];
  run(context: Context): Promise<void>;
}

const GLOBAL_OPTIONS: Options = { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } };
const ENVIRONMENT = `Environment: MONGODB_URI (default ${DEFAULT_MONGODB_URI}), CONTROL_DB (default ${DEFAULT_CONTROL_DB}),
REDIS_URL (default redis://127.0.0.1:6379, where running gateways hear about changes).`;

const TENANT_SETTING_OPTIONS: Options = {
  name: { type: 'string' },
  origins: { type: 'string' },
  'authz-mode': { type: 'string' },
  'cost-mode': { type: 'string' },
  'safelist-mode': { type: 'string' },
};

const LIMIT_OPTIONS = {
  'max-cost': 'maxCost',
  'max-depth': 'maxDepth',
  'max-aliases': 'maxAliases',
  'max-root-fields': 'maxRootFields',
  'max-directives': 'maxDirectivesPerField',
  'max-tokens': 'maxTokens',
  'max-body-bytes': 'maxBodyBytes',
} as const;

const DURATION = /^(\d+)(s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function duration(value: string, option: string): number {
  if (value === '0') return 0;
  const match = DURATION.exec(value);
  if (!match) throw new UsageError(`${option} must be a duration such as 30m, 1h or 90d`);
  return Number(match[1]) * DURATION_MS[match[2]!]!;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function string(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function required(values: Values, name: string): string {
  const value = string(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** The tenant settings given as options; only those given. The registry validates the values. */
function tenantSettings(values: Values): Partial<TenantSettings> {
  const settings: Partial<TenantSettings> = {};
  const name = string(values, 'name');
  if (name !== undefined) settings.name = name;
  const origins = string(values, 'origins');
  if (origins !== undefined) settings.origins = list(origins);
  const authzMode = string(values, 'authz-mode');
  if (authzMode !== undefined) settings.authzMode = authzMode as TenantSettings['authzMode'];
  const costMode = string(values, 'cost-mode');
  if (costMode !== undefined) settings.costMode = costMode as TenantSettings['costMode'];
  const safelistMode = string(values, 'safelist-mode');
  if (safelistMode !== undefined) settings.safelistMode = safelistMode as TenantSettings['safelistMode'];
  return settings;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const date = (value: Date | undefined) => (value ? value.toISOString() : '-');

function describeTenant(tenant: TenantRecord): string {
  const { limits } = tenant.plan;
  return [
    `tenant      ${tenant.id}`,
    `name        ${tenant.name}`,
    `status      ${tenant.status}`,
    `plan        ${tenant.plan.id} (max cost ${limits.maxCost}, budget ${limits.budget.capacity} at ${limits.budget.restoreRate}/s, depth ${limits.maxDepth})`,
    `isolation   ${tenant.isolation}`,
    `origins     ${tenant.origins.join(', ') || '-'}`,
    `authz mode  ${tenant.authzMode}`,
    `cost mode   ${tenant.costMode}`,
    `safelist    ${tenant.safelistMode}`,
  ].join('\n');
}

function tenantTable(tenants: TenantRecord[]): string {
  return table(
    ['TENANT', 'STATUS', 'PLAN', 'AUTHZ', 'COST', 'SAFELIST', 'ORIGINS', 'NAME'],
    tenants.map((t) => [t.id, t.status, t.plan.id, t.authzMode, t.costMode, t.safelistMode, t.origins.join(',') || '-', t.name]),
  );
}

function planTable(plans: Plan[]): string {
  return table(
    ['PLAN', 'MAX COST', 'BUDGET', 'RESTORE/S', 'DEPTH', 'ALIASES', 'ROOT FIELDS', 'DIRECTIVES', 'TOKENS', 'BODY BYTES', 'NAME'],
    plans.map(({ id, name, limits: l }) =>
      [id, l.maxCost, l.budget.capacity, l.budget.restoreRate, l.maxDepth, l.maxAliases, l.maxRootFields, l.maxDirectivesPerField, l.maxTokens, l.maxBodyBytes, name].map(String),
    ),
  );
}

function keyJson(key: ApiKeyRecord, now: number): Record<string, unknown> {
  return { ...key, status: apiKeyStatus(key, now) };
}

function issuedText(key: string, record: ApiKeyRecord, what: string): string {
  return `${what} ${record.id} for tenant ${record.tenantId} (client "${record.clientName}"), scopes ${record.scopes.join(',')}, manifest ${record.manifest}, expires ${date(record.expiresAt)}.
Store the key now; it is shown only once:

${key}`;
}

/** `served` is the newest version not retired: the one gateways answer with. */
function manifestJson(version: ManifestVersion, served: ManifestVersion | undefined): Record<string, unknown> {
  const status = version.retiredAt ? 'retired' : served?.version === version.version ? 'served' : 'superseded';
  const { operations, ...rest } = version;
  return { ...rest, status, operations: operations.length };
}

function manifestVersion(values: Values): number | undefined {
  const text = string(values, 'version');
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError('--version must be a positive integer');
  return Number(text);
}

/** Reads a manifest file and checks it against the API schema of the supergraph gateways serve now. */
function readManifest(file: string, env: NodeJS.ProcessEnv) {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${file} as JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const supergraphPath = env.SUPERGRAPH_PATH?.trim() || DEFAULT_SUPERGRAPH_PATH;
  const checked = checkManifest(value, buildApiSchema(readFileSync(supergraphPath, 'utf8')));
  if ('problems' in checked) throw new Error(`the manifest was refused; nothing was published:\n  ${checked.problems.join('\n  ')}`);
  return checked.manifest;
}

const MANIFEST_SCOPE_OPTIONS: Options = { tenant: { type: 'string' }, client: { type: 'string' } };

const TENANT_SETTINGS_USAGE = `[--origins <origin,…>] [--authz-mode ${AUTHZ_MODES.join('|')}]
      [--cost-mode ${COST_MODES.join('|')}] [--safelist-mode ${SAFELIST_MODES.join('|')}]`;

const COMMANDS: Record<string, Command> = {
  'tenant create': {
    usage: `tenant create <id> --name <name> [--plan <plan>] ${TENANT_SETTINGS_USAGE}`,
    summary: 'Creates a tenant (active, plan free unless --plan, no origins, authz reject, cost enforce, safelist off).',
    options: { ...TENANT_SETTING_OPTIONS, plan: { type: 'string' } },
    positionals: ['id'],
    async run({ values, positionals, controlPlane, print }) {
      const settings = tenantSettings(values);
      const tenant = await (await controlPlane()).tenants.createTenant({
        ...settings,
        id: positionals[0]!,
        name: required(values, 'name'),
        plan: string(values, 'plan'),
      });
      print(tenant, () => `Created tenant ${tenant.id}.\n${describeTenant(tenant)}`);
    },
  },
  'tenant list': {
    usage: 'tenant list',
    summary: 'Lists the tenants.',
    async run({ controlPlane, print }) {
      const tenants = await (await controlPlane()).tenants.listTenants();
      print(tenants, () => tenantTable(tenants));
    },
  },
  'tenant show': {
    usage: 'tenant show <id>',
    summary: 'Shows a tenant with its plan.',
    positionals: ['id'],
    async run({ positionals, controlPlane, print }) {
      const tenant = await (await controlPlane()).tenants.getTenant(positionals[0]!);
      if (!tenant) throw new Error(`no tenant ${positionals[0]}`);
      print(tenant, () => describeTenant(tenant));
    },
  },
  'tenant set': {
    usage: `tenant set <id> [--name <name>] ${TENANT_SETTINGS_USAGE}`,
    summary: 'Changes the given settings of a tenant. --origins "" removes every origin.',
    options: TENANT_SETTING_OPTIONS,
    positionals: ['id'],
    async run({ values, positionals, controlPlane, print }) {
      const settings = tenantSettings(values);
      if (Object.keys(settings).length === 0) throw new UsageError('give at least one setting to change');
      const tenant = await (await controlPlane()).tenants.updateTenant(positionals[0]!, settings);
      print(tenant, () => `Updated tenant ${tenant.id}.\n${describeTenant(tenant)}`);
    },
  },
  'tenant set-plan': {
    usage: 'tenant set-plan <id> <plan>',
    summary: "Moves a tenant to another plan; its limits change on every gateway within 5 s.",
    positionals: ['id', 'plan'],
    async run({ positionals, controlPlane, print }) {
      const tenant = await (await controlPlane()).tenants.updateTenant(positionals[0]!, { plan: positionals[1]! });
      print(tenant, () => `Tenant ${tenant.id} is now on plan ${tenant.plan.id}.`);
    },
  },
  'tenant suspend': {
    usage: 'tenant suspend <id>',
    summary: "Suspends a tenant: every gateway refuses its requests (403 TENANT_SUSPENDED) within 5 s.",
    positionals: ['id'],
    async run({ positionals, controlPlane, print }) {
      const tenant = await (await controlPlane()).tenants.suspendTenant(positionals[0]!);
      print(tenant, () => `Suspended tenant ${tenant.id}.`);
    },
  },
  'tenant resume': {
    usage: 'tenant resume <id>',
    summary: 'Makes a suspended tenant active again.',
    positionals: ['id'],
    async run({ positionals, controlPlane, print }) {
      const tenant = await (await controlPlane()).tenants.resumeTenant(positionals[0]!);
      print(tenant, () => `Resumed tenant ${tenant.id}.`);
    },
  },
  'plan list': {
    usage: 'plan list',
    summary: 'Lists the plans and their limits.',
    async run({ controlPlane, print }) {
      const plans = await (await controlPlane()).tenants.listPlans();
      print(plans, () => planTable(plans));
    },
  },
  'plan set': {
    usage: `plan set <id> [--name <name>] [--max-cost <n>] [--budget-capacity <n>] [--budget-restore-rate <n>]
      [--max-depth <n>] [--max-aliases <n>] [--max-root-fields <n>] [--max-directives <n>] [--max-tokens <n>]
      [--max-body-bytes <n>]`,
    summary: 'Changes the given limits of a plan, for every tenant on it, within 5 s.',
    options: {
      name: { type: 'string' },
      'budget-capacity': { type: 'string' },
      'budget-restore-rate': { type: 'string' },
      ...Object.fromEntries(Object.keys(LIMIT_OPTIONS).map((option) => [option, { type: 'string' as const }])),
    },
    positionals: ['id'],
    async run({ values, positionals, controlPlane, print }) {
      const limits: NonNullable<PlanChange['limits']> = {};
      for (const [option, key] of Object.entries(LIMIT_OPTIONS)) {
        const value = string(values, option);
        if (value !== undefined) limits[key] = Number(value);
      }
      const capacity = string(values, 'budget-capacity');
      const restoreRate = string(values, 'budget-restore-rate');
      if (capacity !== undefined || restoreRate !== undefined) {
        limits.budget = {
          ...(capacity === undefined ? {} : { capacity: Number(capacity) }),
          ...(restoreRate === undefined ? {} : { restoreRate: Number(restoreRate) }),
        };
      }
      const name = string(values, 'name');
      if (Object.keys(limits).length === 0 && name === undefined) throw new UsageError('give at least one limit to change');
      const plan = await (await controlPlane()).tenants.updatePlan(positionals[0]!, { limits, ...(name === undefined ? {} : { name }) });
      print(plan, () => `Updated plan ${plan.id}.\n${planTable([plan])}`);
    },
  },
  'key create': {
    usage: `key create --tenant <id> --client <name> --scopes <scope,…> --manifest <id> [--expires <duration>] [--quiet]
      scopes: ${API_KEY_SCOPES.join(', ')}`,
    summary: 'Issues a partner API key (expires in 90d unless --expires). The key is printed once; --quiet prints it alone.',
    options: {
      tenant: { type: 'string' },
      client: { type: 'string' },
      scopes: { type: 'string' },
      manifest: { type: 'string' },
      expires: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    },
    async run({ values, controlPlane, print, io }) {
      const expiresInMs = duration(string(values, 'expires') ?? '90d', '--expires');
      const { key, record } = await (await controlPlane()).apiKeys.issue({
        tenantId: required(values, 'tenant'),
        clientName: required(values, 'client'),
        scopes: list(required(values, 'scopes')),
        manifest: required(values, 'manifest'),
        expiresAt: new Date(Date.now() + expiresInMs),
      });
      if (values.quiet && !values.json) return io.stdout(`${key}\n`);
      print({ key, ...keyJson(record, Date.now()) }, () => issuedText(key, record, 'Created API key'));
    },
  },
  'key list': {
    usage: 'key list [--tenant <id>]',
    summary: 'Lists API keys (never their secrets), with their status and when they were last used.',
    options: { tenant: { type: 'string' } },
    async run({ values, controlPlane, print }) {
      const tenantId = string(values, 'tenant');
      const keys = await (await controlPlane()).apiKeys.list(tenantId === undefined ? {} : { tenantId });
      const now = Date.now();
      print(
        keys.map((key) => keyJson(key, now)),
        () =>
          table(
            ['KEY', 'TENANT', 'STATUS', 'CLIENT', 'SCOPES', 'MANIFEST', 'EXPIRES', 'RETIRES', 'LAST USED'],
            keys.map((k) => [k.id, k.tenantId, apiKeyStatus(k, now), k.clientName, k.scopes.join(','), k.manifest, date(k.expiresAt), date(k.retiresAt), date(k.lastUsedAt)]),
          ),
      );
    },
  },
  'key revoke': {
    usage: 'key revoke <keyId>',
    summary: 'Revokes a key: every gateway refuses it within 5 s.',
    positionals: ['keyId'],
    async run({ positionals, controlPlane, print }) {
      const record = await (await controlPlane()).apiKeys.revoke(positionals[0]!);
      print(keyJson(record, Date.now()), () => `Revoked key ${record.id} of tenant ${record.tenantId}.`);
    },
  },
  'key rotate': {
    usage: 'key rotate <keyId> [--overlap <duration>] [--expires <duration>] [--quiet]',
    summary:
      'Issues a replacement with the same tenant, scopes and manifest; the old key keeps working for --overlap (default 1h, 0 ends it now). The new key is printed once; --quiet prints it alone.',
    options: { overlap: { type: 'string' }, expires: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } },
    positionals: ['keyId'],
    async run({ values, positionals, controlPlane, print, io }) {
      const overlapMs = duration(string(values, 'overlap') ?? '1h', '--overlap');
      const expires = string(values, 'expires');
      const expiresAt = expires === undefined ? undefined : new Date(Date.now() + duration(expires, '--expires'));
      const { issued, retiring } = await (await controlPlane()).apiKeys.rotate(positionals[0]!, { overlapMs, ...(expiresAt ? { expiresAt } : {}) });
      if (values.quiet && !values.json) return io.stdout(`${issued.key}\n`);
      const now = Date.now();
      print(
        { key: issued.key, ...keyJson(issued.record, now), retiring: keyJson(retiring, now) },
        () => `Key ${retiring.id} keeps working until ${date(retiring.retiresAt)}.\n${issuedText(issued.key, issued.record, 'Created replacement key')}`,
      );
    },
  },
  'manifest publish': {
    usage: 'manifest publish <file> --tenant <id> --client <name>',
    summary:
      "Publishes a persisted-operation manifest (Apollo's format, as `npm run codegen` writes it) as the client's next version, after validating every operation against the supergraph's API schema (SUPERGRAPH_PATH, default schema/supergraph.graphql). Every gateway serves it within 5 s. The client is what an API key's --manifest names; storefront is the tenant's frontend safelist.",
    options: MANIFEST_SCOPE_OPTIONS,
    positionals: ['file'],
    async run({ values, positionals, controlPlane, print, io }) {
      const tenantId = required(values, 'tenant');
      const client = required(values, 'client');
      const manifest = readManifest(positionals[0]!, io.env);
      const published = await (await controlPlane()).manifests.publish(tenantId, client, manifest);
      print(manifestJson(published, published), () => `Published manifest ${published.client} version ${published.version} for tenant ${published.tenantId} (${published.operations.length} operations).`);
    },
  },
  'manifest list': {
    usage: 'manifest list --tenant <id> [--client <name>]',
    summary: 'Lists the versions of the tenant\'s manifests: served (the newest not retired), superseded or retired.',
    options: MANIFEST_SCOPE_OPTIONS,
    async run({ values, controlPlane, print }) {
      const tenantId = required(values, 'tenant');
      const versions = await (await controlPlane()).manifests.list(tenantId, string(values, 'client'));
      const servedVersion = new Map<string, number>();
      for (const v of versions) if (!v.retiredAt) servedVersion.set(v.client, v.version);
      const rows = versions.map((v) => manifestJson(v, servedVersion.get(v.client) === v.version ? v : undefined));
      print(rows, () =>
        table(
          ['CLIENT', 'VERSION', 'STATUS', 'OPERATIONS', 'PUBLISHED', 'RETIRED'],
          versions.map((v, i) => [v.client, String(v.version), String(rows[i]!.status), String(v.operations.length), date(v.publishedAt), date(v.retiredAt)]),
        ),
      );
    },
  },
  'manifest show': {
    usage: 'manifest show --tenant <id> --client <name> [--version <n>]',
    summary: 'Shows the operations of a manifest version; the served one unless --version. --json includes their bodies.',
    options: { ...MANIFEST_SCOPE_OPTIONS, version: { type: 'string' } },
    async run({ values, controlPlane, print }) {
      const tenantId = required(values, 'tenant');
      const client = required(values, 'client');
      const version = manifestVersion(values);
      const { manifests } = await controlPlane();
      const shown = version === undefined ? await manifests.served(tenantId, client) : await manifests.get(tenantId, client, version);
      if (!shown) throw new Error(`no ${version === undefined ? 'served version' : `version ${version}`} of manifest ${client} for tenant ${tenantId}`);
      print(shown, () =>
        [
          `manifest ${shown.client} version ${shown.version} of tenant ${shown.tenantId}, published ${date(shown.publishedAt)}${shown.retiredAt ? `, retired ${date(shown.retiredAt)}` : ''}`,
          table(['ID', 'TYPE', 'NAME'], shown.operations.map((o) => [o.id, o.type, o.name])),
        ].join('\n'),
      );
    },
  },
  'manifest retire': {
    usage: 'manifest retire --tenant <id> --client <name> --version <n>',
    summary: 'Stops serving a manifest version on every gateway within 5 s; the newest version not retired, if any, is served instead.',
    options: { ...MANIFEST_SCOPE_OPTIONS, version: { type: 'string' } },
    async run({ values, controlPlane, print }) {
      const version = manifestVersion(values);
      if (version === undefined) throw new UsageError('--version is required');
      const retired = await (await controlPlane()).manifests.retire(required(values, 'tenant'), required(values, 'client'), version);
      print(manifestJson(retired, undefined), () => `Retired manifest ${retired.client} version ${retired.version} of tenant ${retired.tenantId}.`);
    },
  },
  token: {
    usage: 'token --tenant <id> --user <email> [--roles admin,staff,customer,developer] [--ttl <seconds>]',
    summary: 'Prints a development JWT (the development issuer is trusted outside production only).',
    options: { tenant: { type: 'string' }, user: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string' } },
    async run({ values, io, print }) {
      let request: ReturnType<typeof parseDevTokenRequest>;
      try {
        request = parseDevTokenRequest({ tenant: string(values, 'tenant'), user: string(values, 'user'), roles: string(values, 'roles'), ttl: string(values, 'ttl') });
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
      const token = await mintDevToken(request, io.env);
      print({ token }, () => token);
    },
  },
};

const GROUPS = ['tenant', 'plan', 'key', 'manifest'];

function overview(): string {
  const lines = Object.values(COMMANDS).map((command) => `  ${command.usage.split('\n')[0]}`);
  return `Usage: npm run --silent tollgate -- <command> [options]

Commands:
${lines.join('\n')}

Every command takes --help, and --json for JSON output. Exit codes: 0 ok, 1 failure, 2 usage.
${ENVIRONMENT}`;
}

function commandHelp(command: Command): string {
  return `Usage: npm run --silent tollgate -- ${command.usage} [--json]

${command.summary}

${ENVIRONMENT}`;
}

function groupHelp(group: string): string {
  const lines = Object.entries(COMMANDS)
    .filter(([name]) => name.startsWith(`${group} `))
    .map(([, command]) => `  ${command.usage.split('\n')[0]}\n      ${command.summary}`);
  return `Usage: npm run --silent tollgate -- ${group} <action> [options]\n\n${lines.join('\n')}`;
}

export async function runTollgate(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.stderr : io.stdout)(`${overview()}\n`);
    return first === undefined ? 2 : 0;
  }
  let name = first;
  if (GROUPS.includes(first)) {
    if (second === undefined || second === '--help' || second === '-h') {
      (second === undefined ? io.stderr : io.stdout)(`${groupHelp(first)}\n`);
      return second === undefined ? 2 : 0;
    }
    name = `${first} ${second}`;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`tollgate: unknown command "${name}"\n${overview()}\n`);
    return 2;
  }
  let controlPlane: ControlPlane | undefined;
  let changes: ChangePublisher | undefined;
  try {
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({
        args: argv.slice(name.split(' ').length),
        options: { ...GLOBAL_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      }) as { values: Values; positionals: string[] };
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout(`${commandHelp(command)}\n`);
      return 0;
    }
    const expected = command.positionals ?? [];
    if (positionals.length !== expected.length) {
      throw new UsageError(expected.length === 0 ? 'this command takes no arguments' : `expected ${expected.map((p) => `<${p}>`).join(' ')}`);
    }
    const { env } = io;
    await command.run({
      values,
      positionals,
      io,
      async controlPlane() {
        changes ??= createChangePublisher({
          redisUrl: env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379',
          dbName: env.CONTROL_DB?.trim() || DEFAULT_CONTROL_DB,
          onError: (error) =>
            io.stderr(
              `tollgate: warning: the change is saved but could not be announced on Redis (${error instanceof Error ? error.message : String(error)}); running gateways apply it within 5 s\n`,
            ),
        });
        controlPlane ??= await openControlPlane({
          mongoUri: env.MONGODB_URI?.trim() || DEFAULT_MONGODB_URI,
          dbName: env.CONTROL_DB?.trim() || DEFAULT_CONTROL_DB,
          changes,
        });
        return controlPlane;
      },
      print(value, human) {
        io.stdout(`${values.json ? JSON.stringify(value, null, 2) : human()}\n`);
      },
    });
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError || error instanceof RegistryValidationError) {
      io.stderr(`tollgate: ${message}\n${commandHelp(command)}\n`);
      return 2;
    }
    io.stderr(`tollgate: ${message}\n`);
    return 1;
  } finally {
    await controlPlane?.close();
    await changes?.close();
  }
}
