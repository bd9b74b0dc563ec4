/**
 * SIGTERM on a real gateway process (`node gateway/src/main.ts`, production mode): readiness turns 503 at once, the
 * gateway still answers /graphql for SHUTDOWN_DELAY_MS, then stops accepting; a request in flight when the signal
 * came completes; the process exits 0. The one subgraph the slow request needs is a plain HTTP server in this test
 * that answers after a pause, so "in flight" is a fact of the test, not a race.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SUBGRAPH_NAMES } from '../../subgraphs/catalog';
import { createTestIssuer, type TestIssuer } from './testing/jwt';
import { openTestControlPlane, writeTrustedIssuersFile } from './testing/platform';
import type { ChangePublisher } from './tenants/changes';
import type { ControlPlane } from './control-plane/open';

const ROOT = join(__dirname, '..', '..');
const DELAY_MS = 1_500;
/** How long the slow subgraph takes: well past the delay, so the request is still running when the listener closes. */
const SLOW_MS = 3_000;

interface Gateway {
  url: string;
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function startGateway(env: Record<string, string>): Promise<Gateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'gateway/src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${JSON.stringify(logs)}`)), 60_000);
    void exited.then((code) => reject(new Error(`the gateway exited with ${code}:\n${JSON.stringify(logs)}`)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      logs.push(record);
      if (record.msg === 'gateway listening' && typeof record.url === 'string') {
        clearTimeout(timer);
        resolve({ url: record.url.replace(/\/graphql$/, ''), child, logs, exited });
      }
    });
  });
}

/** A stand-in accounts subgraph: every operation gets `{ me: null }` after SLOW_MS; counts what it received. */
function startSlowSubgraph(): Promise<{ server: Server; url: string; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: { me: null } }));
      }, SLOW_MS);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
        received: () => received,
      }),
    ),
  );
}

async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a gateway process on SIGTERM', () => {
  let issuer: TestIssuer;
  let controlPlane: ControlPlane;
  let changes: ChangePublisher;
  let subgraph: Awaited<ReturnType<typeof startSlowSubgraph>>;
  let gateway: Gateway | undefined;

  beforeAll(async () => {
    issuer = await createTestIssuer();
    ({ controlPlane, changes } = await openTestControlPlane());
    await controlPlane.tenants.createTenant({ id: 'acme', name: 'Acme', plan: 'pro' });
    subgraph = await startSlowSubgraph();
  });

  afterAll(async () => {
    if (gateway && gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    await new Promise((resolve) => subgraph?.server.close(resolve));
    subgraph?.server.closeAllConnections();
    await controlPlane?.dropDatabase();
    await controlPlane?.close();
    await changes?.close();
  });

  it('fails readiness at once, serves through the delay, drains the request in flight and exits 0', async () => {
    const urls = Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [`${name.toUpperCase()}_URL`, 'http://127.0.0.1:9/graphql']),
    );
    gateway = await startGateway({
      ...urls,
      ACCOUNTS_URL: subgraph.url,
      MONGODB_URI: process.env.TEST_MONGODB_URI ?? '',
      CONTROL_DB: controlPlane.dbName,
      REDIS_URL: process.env.TEST_REDIS_URL ?? '',
      NODE_ENV: 'production',
      PORT: '0',
      LOG_LEVEL: 'debug',
      TOLLGATE_INTERNAL_SECRET: randomBytes(32).toString('hex'),
      TRUSTED_ISSUERS_FILE: writeTrustedIssuersFile(issuer),
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
      SHUTDOWN_GRACE_MS: '10000',
    });
    const { url } = gateway;
    // A caller of its own: budget buckets live in the shared Redis.
    const authorization = `Bearer ${await issuer.sign({ tenant: 'acme', sub: `shutdown-${randomBytes(4).toString('hex')}` })}`;
    const post = (query: string) =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query }),
      });

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await post('{ __typename }')).status).toBe(200);

    // In flight: the subgraph has the request and will answer in SLOW_MS.
    const slow = post('{ me { id } }');
    await until(() => subgraph.received() === 1, 'the slow request to reach the subgraph');

    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    await until(() => gateway!.logs.some((l) => l.msg === 'shutting down'), 'the gateway to log the signal', 5_000);

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable' });

    // Still serving through the delay (the issue's "0.3 s later got connection refused"), and telling keep-alive
    // clients to go elsewhere.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = await post('{ __typename }');
    expect(Date.now() - signalledAt).toBeLessThan(DELAY_MS);
    expect(during.status).toBe(200);
    expect(await during.json()).toMatchObject({ data: { __typename: 'Query' } });
    expect(during.headers.get('connection')).toBe('close');

    // After the delay the listener stops accepting: a new connection is refused, while the slow request still runs.
    let refusedAt = 0;
    while (!refusedAt) {
      try {
        await fetch(`${url}/healthz`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } catch {
        refusedAt = Date.now();
      }
      if (Date.now() - signalledAt > 10_000) throw new Error('the listener never stopped accepting');
    }
    expect(refusedAt - signalledAt).toBeGreaterThanOrEqual(DELAY_MS);

    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ data: { me: null } });
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(SLOW_MS - 500);

    expect(await gateway.exited).toBe(0);
    const messages = gateway.logs.map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining([
        'draining: readiness fails, still serving',
        'stopping: no new connections, draining in-flight requests',
        'stopped',
      ]),
    );
    expect(messages).not.toContain('graceful shutdown overran');
  }, 60_000);
});
