/**
 * `tollgate migrate` as the one step that creates indexes: before it, the gateway and a subgraph process refuse to
 * start and name the command; after it they start, and at runtime they send no `createIndexes` (nor `create`) —
 * what a database user without index rights needs — counted with the driver's command monitoring.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Connection, mongo } from 'mongoose';
import { createLogger } from '../common/logger';
import { DEFAULT_SUPERGRAPH_PATH, type GatewayConfig } from '../gateway/src/config';
import { startGateway } from '../gateway/src/server';
import { createTestIssuer } from '../gateway/src/testing/jwt';
import { writeTrustedIssuersFile } from '../gateway/src/testing/platform';
import { SUBGRAPH_NAMES, type SubgraphName } from '../subgraphs/catalog';
import { accounts, inventory, products, reviews } from '../subgraphs/definitions';
import { openDatabase, registerModels } from '../subgraphs/kit/database';
import { testMongoUri } from '../subgraphs/kit/testing';
import { runTollgate } from './commands';

const ROOT = join(__dirname, '..');
const run = randomBytes(5).toString('hex');
const controlDb = `tollgate_control_test_migrate_${run}`;
const dbOf = (name: SubgraphName) => `test_migrate_${name}_${run}`;
const env = { MONGODB_URI: testMongoUri(), CONTROL_DB: controlDb, REDIS_URL: process.env.TEST_REDIS_URL ?? '' };
const DEFINITIONS = { accounts, inventory, products, reviews };
/** Commands a runtime process must never send: they need rights a runtime database user does not have. */
const SCHEMA_COMMANDS = ['createIndexes', 'create', 'dropIndexes'];

async function tollgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

async function gatewayConfig(): Promise<GatewayConfig> {
  const issuer = await createTestIssuer();
  return {
    production: false,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'error',
    supergraphPath: DEFAULT_SUPERGRAPH_PATH,
    subgraphUrls: Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [name, 'http://127.0.0.1:9/graphql']),
    ) as GatewayConfig['subgraphUrls'],
    subgraphTimeoutMs: 1_000,
    maxBodyBytes: 65_536,
    internalSecret: { source: 'env', secret: randomBytes(32) },
    jwt: { trustedIssuersFile: writeTrustedIssuersFile(issuer), trustDevIssuer: false },
    controlPlane: { mongoUri: env.MONGODB_URI, dbName: controlDb },
    redisUrl: env.REDIS_URL,
    budgetFailMode: 'open',
  };
}

/** Compiles a subgraph's models as subgraphs/run.ts does (indexes: verify), counting the commands sent. */
async function registerAtRuntime(name: SubgraphName): Promise<{ commands: string[]; result: Promise<unknown> }> {
  const connection: Connection = await openDatabase({
    mongoUri: env.MONGODB_URI,
    dbName: dbOf(name),
    monitorCommands: true,
  });
  const commands: string[] = [];
  connection.getClient().on('commandStarted', (event: mongo.CommandStartedEvent) => commands.push(event.commandName));
  const result = registerModels(connection, (c) => DEFINITIONS[name].models(c), 'verify').finally(() =>
    connection.close(),
  );
  return { commands, result };
}

function runSubgraphProcess(name: SubgraphName): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'subgraphs/run.ts'), name], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      MONGODB_URI: env.MONGODB_URI,
      MONGODB_DB: dbOf(name),
      TOLLGATE_INTERNAL_KEY: randomBytes(32).toString('hex'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Killed if it starts after all (the test then fails on the exit code).
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

afterAll(async () => {
  for (const dbName of [controlDb, ...SUBGRAPH_NAMES.map(dbOf)]) {
    const connection = await openDatabase({ mongoUri: env.MONGODB_URI, dbName });
    await connection.dropDatabase();
    await connection.close();
  }
});

describe('before `tollgate migrate`', () => {
  it('the gateway refuses to start, naming the command, and sends no index or collection creation', async () => {
    const commands: string[] = [];
    const started = startGateway(await gatewayConfig(), {
      logger: createLogger({ sink: () => undefined }),
      onControlPlaneCommand: (event) => commands.push(event.commandName),
    });
    await expect(started).rejects.toThrow(/indexes missing in .*tollgate migrate/);
    expect(commands).toContain('listIndexes');
    expect(commands.filter((c) => SCHEMA_COMMANDS.includes(c))).toEqual([]);
  });

  it('every subgraph refuses, naming the command, and sends no index or collection creation', async () => {
    for (const name of SUBGRAPH_NAMES) {
      const { commands, result } = await registerAtRuntime(name);
      await expect(result).rejects.toThrow(new RegExp(`indexes missing in ${dbOf(name)}\\..*tollgate migrate`));
      expect(commands.filter((c) => SCHEMA_COMMANDS.includes(c))).toEqual([]);
    }
  });

  it('a subgraph process exits 1 with the command in its log', async () => {
    const { code, stderr } = await runSubgraphProcess('accounts');
    expect(code).toBe(1);
    expect(stderr).toContain('failed to start');
    expect(stderr).toContain('tollgate migrate');
  }, 40_000);
});

describe('`tollgate migrate`', () => {
  it('migrates the control plane and every subgraph, and says which databases', async () => {
    const db = SUBGRAPH_NAMES.map((name) => `${name}=${dbOf(name)}`).join(',');
    const result = await tollgate(['migrate', '--db', db, '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual([
      { target: 'control-plane', database: controlDb },
      ...SUBGRAPH_NAMES.map((name) => ({ target: name, database: dbOf(name) })),
    ]);
    // Idempotent: a second run changes nothing and succeeds.
    expect((await tollgate(['migrate', '--db', db])).code).toBe(0);
  });

  it('refuses an unknown target or database pair as a usage error', async () => {
    expect((await tollgate(['migrate', '--only', 'payments'])).code).toBe(2);
    expect((await tollgate(['migrate', '--db', 'accounts'])).code).toBe(2);
  });
});

describe('after `tollgate migrate`', () => {
  it('the gateway starts, reads its control plane and is ready, without creating any index or collection', async () => {
    const commands: string[] = [];
    const gateway = await startGateway(await gatewayConfig(), {
      logger: createLogger({ sink: () => undefined }),
      onControlPlaneCommand: (event) => commands.push(event.commandName),
    });
    try {
      expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
      expect(commands).toContain('listIndexes');
      expect(commands.filter((c) => SCHEMA_COMMANDS.includes(c))).toEqual([]);
      // The built-in plans came from the migration, not from the gateway's start (which writes nothing).
      expect(commands).not.toContain('update');
      expect(commands).not.toContain('insert');
    } finally {
      await gateway.stop();
    }
  });

  it('every subgraph starts its models without creating any index or collection', async () => {
    for (const name of SUBGRAPH_NAMES) {
      const { commands, result } = await registerAtRuntime(name);
      await expect(result).resolves.toBeDefined();
      expect(commands).toContain('listIndexes');
      expect(commands.filter((c) => SCHEMA_COMMANDS.includes(c))).toEqual([]);
    }
  });
});
