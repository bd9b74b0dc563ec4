import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { INTERNAL_TOKEN_HEADER } from '../common/internal-token';
import { openDatabase } from './kit/database';
import { migrateSubgraphs } from './migrate';
import { mintTestToken, testMongoUri, uniqueDbName } from './kit/testing';
import { parseRunConfig } from './run-config';
import { startBlackholeProxy } from '../test/support/blackhole-proxy';

const KEY = randomBytes(32).toString('hex');

describe('parseRunConfig', () => {
  test('defaults: the catalog port, loopback, tollgate_<name>, info', () => {
    expect(parseRunConfig(['inventory'], { MONGODB_URI: 'mongodb://db:27017/', TOLLGATE_INTERNAL_KEY: KEY })).toEqual({
      name: 'inventory',
      host: '127.0.0.1',
      port: 4003,
      mongoUri: 'mongodb://db:27017/',
      dbName: 'tollgate_inventory',
      internalKey: Buffer.from(KEY, 'hex'),
      logLevel: 'info',
      logFormat: 'auto',
      http: {
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 65_000,
        maxRequestsPerSocket: 1_000,
        socketIdleTimeoutMs: 120_000,
      },
      database: { serverSelectionTimeoutMs: 5_000, connectTimeoutMs: 3_000, socketTimeoutMs: 15_000 },
      maxRequestDeadlineMs: 10_000,
      shutdown: { delayMs: 0, graceMs: 10_000 },
      // Outside production without a key: the development master key under .data/secrets.
      encryption: {
        enabled: true,
        masterKey: expect.any(Buffer),
        source: 'dev',
        cache: { max: 10_000, ttlMs: 300_000 },
      },
    });
  });

  test('encryption at rest: on by default, a master key required in production, checked, or off', () => {
    const base = { MONGODB_URI: 'mongodb://db:27017/', TOLLGATE_INTERNAL_KEY: KEY };
    const master = randomBytes(32).toString('hex');
    expect(() => parseRunConfig(['accounts'], { ...base, NODE_ENV: 'production' })).toThrow(
      'ENCRYPTION_MASTER_KEY or ENCRYPTION_MASTER_KEY_FILE is required in production',
    );
    expect(
      parseRunConfig(['accounts'], {
        ...base,
        NODE_ENV: 'production',
        ENCRYPTION_MASTER_KEY: master,
        ENCRYPTION_KEY_CACHE_TTL_MS: '60000',
      }).encryption,
    ).toEqual({
      enabled: true,
      masterKey: Buffer.from(master, 'hex'),
      source: 'env',
      cache: { max: 10_000, ttlMs: 60_000 },
    });
    expect(
      parseRunConfig(['accounts'], { ...base, NODE_ENV: 'production', ENCRYPTION_AT_REST: 'off' }).encryption,
    ).toEqual({ enabled: false });
    let message = '';
    try {
      parseRunConfig(['accounts'], { ...base, ENCRYPTION_MASTER_KEY: 'secret-not-hex', ENCRYPTION_AT_REST: 'on' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('ENCRYPTION_MASTER_KEY must hold 64 hex digits');
    expect(message).not.toContain('secret-not-hex');
    expect(() => parseRunConfig(['accounts'], { ...base, ENCRYPTION_AT_REST: 'maybe' })).toThrow(
      'ENCRYPTION_AT_REST must be on or off',
    );
    expect(() => parseRunConfig(['accounts'], { ...base, ENCRYPTION_MASTER_KEY_FILE: '/nonexistent/key' })).toThrow(
      'ENCRYPTION_MASTER_KEY_FILE cannot be read',
    );
  });

  test('shutdown settings: a delay by default in production only, checked', () => {
    const base = { MONGODB_URI: 'mongodb://db:27017/', TOLLGATE_INTERNAL_KEY: KEY };
    const master = randomBytes(32).toString('hex');
    expect(
      parseRunConfig(['reviews'], { ...base, NODE_ENV: 'production', ENCRYPTION_MASTER_KEY: master }).shutdown,
    ).toEqual({
      delayMs: 5_000,
      graceMs: 10_000,
    });
    expect(
      parseRunConfig(['reviews'], { ...base, SHUTDOWN_DELAY_MS: '2000', SHUTDOWN_GRACE_MS: '3000' }).shutdown,
    ).toEqual({ delayMs: 2_000, graceMs: 3_000 });
    expect(() => parseRunConfig(['reviews'], { ...base, SHUTDOWN_DELAY_MS: 'soon' })).toThrow(
      'SHUTDOWN_DELAY_MS must be an integer from 0 to 300000',
    );
  });

  test('deadlines and timeouts come from the environment, checked against each other', () => {
    const base = { MONGODB_URI: 'mongodb://db:27017/', TOLLGATE_INTERNAL_KEY: KEY };
    const config = parseRunConfig(['products'], {
      ...base,
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '5000',
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: '1000',
      REQUEST_DEADLINE_MS: '3000',
      MONGODB_SOCKET_TIMEOUT_MS: '4000',
    });
    expect(config.http).toMatchObject({ headersTimeoutMs: 2000, keepAliveTimeoutMs: 5000 });
    expect(config.database).toEqual({ serverSelectionTimeoutMs: 1000, connectTimeoutMs: 3_000, socketTimeoutMs: 4000 });
    expect(config.maxRequestDeadlineMs).toBe(3000);
    const attempt = () =>
      parseRunConfig(['products'], {
        ...base,
        HTTP_HEADERS_TIMEOUT_MS: '40000',
        REQUEST_DEADLINE_MS: '20000',
        MONGODB_CONNECT_TIMEOUT_MS: 'x',
      });
    expect(attempt).toThrow(
      /HTTP_REQUEST_TIMEOUT_MS must be at least HTTP_HEADERS_TIMEOUT_MS.*MONGODB_CONNECT_TIMEOUT_MS must be an integer.*MONGODB_SOCKET_TIMEOUT_MS must be at least REQUEST_DEADLINE_MS/,
    );
  });

  test('every problem is reported at once, without echoing values', () => {
    const secretish = 'abcd'.repeat(4);
    const attempt = () =>
      parseRunConfig(['reviews'], {
        PORT: '70000',
        HOST: ' ',
        MONGODB_DB: 'bad.name',
        TOLLGATE_INTERNAL_KEY: secretish,
        LOG_LEVEL: 'loud',
        LOG_FORMAT: 'colourful',
      });
    expect(attempt).toThrow(/PORT.*HOST.*MONGODB_URI.*MONGODB_DB.*TOLLGATE_INTERNAL_KEY.*LOG_LEVEL.*LOG_FORMAT/);
    expect(attempt).not.toThrow(secretish);
  });

  test('the bench switches: the connection loader and command counting, checked', () => {
    const base = { MONGODB_URI: 'mongodb://db:27017/', TOLLGATE_INTERNAL_KEY: KEY };
    expect(
      parseRunConfig(['reviews'], { ...base, SUBGRAPH_CONNECTION_LOADER: 'per-parent', SUBGRAPH_COUNT_COMMANDS: '1' }),
    ).toMatchObject({
      connectionLoader: 'per-parent',
      countCommands: true,
    });
    expect(parseRunConfig(['reviews'], base).connectionLoader).toBeUndefined();
    expect(() =>
      parseRunConfig(['reviews'], { ...base, SUBGRAPH_CONNECTION_LOADER: 'naive', SUBGRAPH_COUNT_COMMANDS: 'yes' }),
    ).toThrow(/SUBGRAPH_CONNECTION_LOADER must be batched or per-parent; SUBGRAPH_COUNT_COMMANDS must be 0 or 1/);
  });

  test('an unknown subgraph name is a usage error', () => {
    expect(() => parseRunConfig(['payments'], {})).toThrow(
      'the first argument must name a subgraph: <accounts|products|inventory|reviews>',
    );
  });
});

test('run.ts serves, logs one line when listening, and stops gracefully on SIGTERM', async () => {
  const dbName = uniqueDbName('run');
  // The deployment's migration step: run.ts only checks the indexes (common/indexes.ts).
  await migrateSubgraphs({ mongoUri: testMongoUri(), names: ['accounts'], dbNameFor: () => dbName });
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'run.ts'), 'accounts'], {
    env: {
      ...process.env,
      PORT: '0',
      MONGODB_URI: testMongoUri(),
      MONGODB_DB: dbName,
      TOLLGATE_INTERNAL_KEY: KEY,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      lines.push(record);
      if (record.msg === 'listening') resolve(record.url as string);
    });
    void exited.then((code) => reject(new Error(`run.ts exited with ${code}: ${JSON.stringify(lines)}`)));
  });
  try {
    const url = await listening;
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: 'listening', service: 'accounts', db: dbName }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(KEY);

    const query = '{ __typename }';
    const token = mintTestToken(Buffer.from(KEY, 'hex'), 'accounts', query, 'svc');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: token },
      body: JSON.stringify({ query }),
    });
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.map((line) => line.msg)).toEqual(['listening', 'stopping']);
  } finally {
    child.kill('SIGKILL');
    const db = await openDatabase({ mongoUri: testMongoUri(), dbName });
    await db.dropDatabase();
    await db.close();
  }
});

test('on SIGTERM run.ts fails /readyz at once, still serves for SHUTDOWN_DELAY_MS, then exits 0', async () => {
  const dbName = uniqueDbName('run_drain');
  const delayMs = 1_500;
  await migrateSubgraphs({ mongoUri: testMongoUri(), names: ['accounts'], dbNameFor: () => dbName });
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'run.ts'), 'accounts'], {
    env: {
      ...process.env,
      PORT: '0',
      MONGODB_URI: testMongoUri(),
      MONGODB_DB: dbName,
      TOLLGATE_INTERNAL_KEY: KEY,
      SHUTDOWN_DELAY_MS: String(delayMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      lines.push(record);
      if (record.msg === 'listening') resolve(record.url as string);
    });
    void exited.then((code) => reject(new Error(`run.ts exited with ${code}: ${JSON.stringify(lines)}`)));
  });
  try {
    const url = await listening;
    const readyz = url.replace(/\/graphql$/, '/readyz');
    expect((await fetch(readyz)).status).toBe(200);
    const query = '{ __typename }';
    const ask = () =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [INTERNAL_TOKEN_HEADER]: mintTestToken(Buffer.from(KEY, 'hex'), 'accounts', query, 'svc'),
        },
        body: JSON.stringify({ query }),
      });

    const signalledAt = Date.now();
    child.kill('SIGTERM');
    while (!lines.some((l) => l.msg === 'stopping')) await new Promise((resolve) => setTimeout(resolve, 10));
    const ready = await fetch(readyz);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable' });
    const during = await ask();
    expect(Date.now() - signalledAt).toBeLessThan(delayMs);
    expect(await during.json()).toEqual({ data: { __typename: 'Query' } });
    expect(during.headers.get('connection')).toBe('close');

    expect(await exited).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(delayMs);
    expect(lines.map((line) => line.msg)).toEqual(['listening', 'stopping']);
  } finally {
    child.kill('SIGKILL');
    const db = await openDatabase({ mongoUri: testMongoUri(), dbName });
    await db.dropDatabase();
    await db.close();
  }
});

test('on SIGTERM run.ts lets a request waiting on its database finish after the listener closed, then exits 0', async () => {
  // The request is held at the database (a proxy that stops forwarding), so it is in flight for as long as the test
  // says: past the delay, past the listener's close. Then the database answers and so must the subgraph.
  const dbName = uniqueDbName('run_inflight');
  const delayMs = 800;
  await migrateSubgraphs({ mongoUri: testMongoUri(), names: ['accounts'], dbNameFor: () => dbName });
  const target = new URL(testMongoUri());
  const database = await startBlackholeProxy({ host: target.hostname, port: Number(target.port) });
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'run.ts'), 'accounts'], {
    env: {
      ...process.env,
      PORT: '0',
      MONGODB_URI: `mongodb://${database.address}/?directConnection=true`,
      MONGODB_DB: dbName,
      TOLLGATE_INTERNAL_KEY: KEY,
      SHUTDOWN_DELAY_MS: String(delayMs),
      SHUTDOWN_GRACE_MS: '10000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      lines.push(record);
      if (record.msg === 'listening') resolve(record.url as string);
    });
    void exited.then((code) => reject(new Error(`run.ts exited with ${code}: ${JSON.stringify(lines)}`)));
  });
  try {
    const url = await listening;
    const healthz = url.replace(/\/graphql$/, '/healthz');
    const query = '{ me { id } }';
    const caller = { tenant: 'acme', principal: 'aaaaaaaaaaaaaaaaaaaaaaaa', roles: ['customer' as const] };
    const token = mintTestToken(Buffer.from(KEY, 'hex'), 'accounts', query, caller);

    database.blackhole();
    const inFlight = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: token },
      body: JSON.stringify({ query }),
    });
    let answered = false;
    void inFlight.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);

    child.kill('SIGTERM');
    // The listener closes after the delay: a new connection is refused while the request still waits.
    for (;;) {
      try {
        await fetch(healthz);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } catch {
        break;
      }
    }
    expect(answered).toBe(false);
    database.forward();

    const answer = await inFlight;
    expect(answer.status).toBe(200);
    // No such user in this tenant: `me` is null — what matters is that the database's answer reached the caller.
    expect(await answer.json()).toEqual({ data: { me: null } });
    expect(await exited).toBe(0);
    expect(lines.map((line) => line.msg)).toEqual(['listening', 'stopping']);
  } finally {
    child.kill('SIGKILL');
    database.forward();
    await database.close();
    const db = await openDatabase({ mongoUri: testMongoUri(), dbName });
    await db.dropDatabase();
    await db.close();
  }
}, 60_000);
