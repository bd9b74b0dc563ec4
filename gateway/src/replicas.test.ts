/**
 * Two gateway processes — real `node gateway/src/main.ts` children, in production mode — sharing one control plane
 * (MongoDB) and one Redis: a key revoked through the registry API and a tenant suspended with the CLI are refused
 * by both within 5 s, and a persisted-operation manifest published or retired on the control plane is served or
 * refused by both within 5 s.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { eventually } from '../../test/support/eventually';
import { DEFAULT_SUPERGRAPH_PATH } from './config';
import { byId, testManifest } from './testing/manifests';
import { createTestIssuer, type TestIssuer } from './testing/jwt';
import { openTestControlPlane, writeTrustedIssuersFile } from './testing/platform';
import type { ChangePublisher } from './tenants/changes';
import type { ControlPlane } from './control-plane/open';
import { startReplica, stopReplica, unreachableSubgraphUrls, type Replica } from './testing/replicas';

const ROOT = join(__dirname, '..', '..');
// The replicas serve Tollgate's own supergraph; `__typename` is answered by the gateway itself, so what is tested
// is the identity decision and nothing downstream.
const BUDGET_CAPACITY = 5;
const TYPENAME = JSON.stringify({ query: '{ __typename }' });
const PROMISE_MS = 5_000;
// Partners run persisted operations only; this one too is answered by the gateway itself.
const PING = 'query Ping {\n  __typename\n}';
const PING_BY_ID = JSON.stringify(byId(PING));
const pingManifest = () => testManifest(DEFAULT_SUPERGRAPH_PATH, PING);

async function ask(
  replica: Replica,
  headers: Record<string, string>,
  body = TYPENAME,
): Promise<{ status: number; reason?: unknown; code?: unknown }> {
  const res = await fetch(replica.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const answer = (await res.json()) as { errors?: { extensions?: { reason?: unknown; code?: unknown } }[] };
  return {
    status: res.status,
    reason: answer.errors?.[0]?.extensions?.reason,
    code: answer.errors?.[0]?.extensions?.code,
  };
}

/**
 * A key just issued reaches each replica's key-id index through its announcement, asynchronously: until then the
 * replica refuses it as unknown (401). Waits until every replica knows it, so what follows tests what it says to test.
 */
async function untilKeyKnown(replicas: Replica[], headers: Record<string, string>, body: string): Promise<void> {
  for (const replica of replicas)
    await eventually(
      () => ask(replica, headers, body),
      (answer) => answer.status !== 401,
    );
}

/** Polls every replica until `refused` holds for its answer; returns how long the slowest took. */
async function timeUntilRefused(
  replicas: Replica[],
  headers: Record<string, string>,
  refused: (answer: { status: number; reason?: unknown; code?: unknown }) => boolean,
  body = TYPENAME,
): Promise<number> {
  const started = Date.now();
  const times = await Promise.all(
    replicas.map(async (replica) => {
      while (Date.now() - started < PROMISE_MS * 2) {
        if (refused(await ask(replica, headers, body))) return Date.now() - started;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return Infinity;
    }),
  );
  return Math.max(...times);
}

function runCli(args: string[], env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/tollgate.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.once('exit', resolve));
}

describe('two gateway replicas', () => {
  let issuer: TestIssuer;
  let controlPlane: ControlPlane;
  let changes: ChangePublisher;
  let replicas: Replica[] = [];
  let controlEnv: Record<string, string>;

  beforeAll(async () => {
    const secret = randomBytes(32);
    issuer = await createTestIssuer();
    ({ controlPlane, changes } = await openTestControlPlane());
    await controlPlane.tenants.createTenant({ id: 'acme', name: 'Acme', plan: 'pro' });
    await controlPlane.tenants.createTenant({ id: 'globex', name: 'Globex', plan: 'free' });
    // A tenant whose budget holds BUDGET_CAPACITY operations and practically never refills (this test's own
    // control-plane database: the plan change touches nobody else).
    await controlPlane.tenants.createTenant({ id: 'initech', name: 'Initech', plan: 'enterprise' });
    await controlPlane.tenants.updatePlan('enterprise', {
      limits: { budget: { capacity: BUDGET_CAPACITY, restoreRate: 0.001 } },
    });
    controlEnv = {
      MONGODB_URI: process.env.TEST_MONGODB_URI ?? '',
      CONTROL_DB: controlPlane.dbName,
      REDIS_URL: process.env.TEST_REDIS_URL ?? '',
    };
    const urls = unreachableSubgraphUrls();
    const env = {
      ...controlEnv,
      ...urls,
      NODE_ENV: 'production',
      PORT: '0',
      // Stopped by the test, behind no load balancer: production's shutdown delay would only slow it down.
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      TOLLGATE_INTERNAL_SECRET: secret.toString('hex'),
      TRUSTED_ISSUERS_FILE: writeTrustedIssuersFile(issuer),
      // Fail-open would let a replica whose Redis call timed out on this busy test machine admit from its own
      // per-process bucket — the documented trade-off of that mode, and not what the shared-budget test measures.
      BUDGET_FAIL_MODE: 'closed',
      // A loaded CI core can take longer than the 100 ms default to answer: these tests are about sharing a
      // budget, not about the deadline (budget/fault.test.ts is), so a slow answer must not turn into a 503.
      BUDGET_REDIS_TIMEOUT_MS: '1000',
    };
    replicas = await Promise.all([startReplica(env), startReplica(env)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map(stopReplica));
    await controlPlane?.dropDatabase();
    await controlPlane?.close();
    await changes?.close();
  });

  it('share one tenant budget: of N concurrent operations against a budget that fits K, at most K run', async () => {
    // `me` costs 1 (one object). The accounts subgraph is unreachable here, which changes nothing for the budget:
    // an operation that was executed is charged whatever its subgraphs answered.
    const body = JSON.stringify({ query: '{ me { id } }' });
    // Buckets live in the shared Redis and refill slowly: every run uses callers of its own.
    const run = randomBytes(6).toString('hex');
    const headers = { authorization: `Bearer ${await issuer.sign({ tenant: 'initech', sub: `budget-${run}` })}` };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(replicas[i % 2]!, headers, body)));
    const ran = answers.filter((a) => a.status === 200);
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(ran.length).toBeLessThanOrEqual(BUDGET_CAPACITY);
    // The replicas fail closed (see beforeAll): a reservation Redis did not answer in time is a 503, never a run.
    for (const answer of answers.filter((a) => a.status !== 200))
      expect(['RATE_LIMITED', 'SERVICE_UNAVAILABLE']).toContain(answer.code);
    // Both replicas refused some: the budget is shared, not per process.
    const refusedBy = new Set(answers.map((a, i) => (a.status === 429 ? i % 2 : -1)).filter((r) => r >= 0));
    expect(refusedBy.size).toBe(2);
    // Another tenant, and another caller of the same tenant, are unaffected.
    expect(
      (await ask(replicas[0]!, { authorization: `Bearer ${await issuer.sign({ tenant: 'acme' })}` }, body)).status,
    ).toBe(200);
    expect(
      (
        await ask(
          replicas[1]!,
          { authorization: `Bearer ${await issuer.sign({ tenant: 'initech', sub: `someone-else-${run}` })}` },
          body,
        )
      ).status,
    ).toBe(200);
  });

  it('are separate processes', () => {
    expect(replicas).toHaveLength(2);
    expect(replicas[0]!.child.pid).not.toBe(replicas[1]!.child.pid);
    expect(replicas[0]!.url).not.toBe(replicas[1]!.url);
  });

  it('both refuse a key revoked through the registry within 5 s', async () => {
    const { key, record } = await controlPlane.apiKeys.issue({
      tenantId: 'globex',
      clientName: 'Globex WMS',
      scopes: ['inventory:read'],
      manifest: 'wms-v1',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    await controlPlane.manifests.publish('globex', 'wms-v1', pingManifest());
    const headers = { 'x-api-key': key };
    await untilKeyKnown(replicas, headers, PING_BY_ID);
    // Both have the key cached, so only the announcement or the cache lifetime can end it.
    for (const replica of replicas) expect((await ask(replica, headers, PING_BY_ID)).status).toBe(200);
    await controlPlane.apiKeys.revoke(record.id);
    expect(await timeUntilRefused(replicas, headers, ({ status }) => status === 401, PING_BY_ID)).toBeLessThan(
      PROMISE_MS,
    );
  });

  it('both refuse a tenant suspended with the CLI within 5 s, and serve it again once resumed', async () => {
    const headers = { authorization: `Bearer ${await issuer.sign({ tenant: 'acme' })}` };
    for (const replica of replicas) expect((await ask(replica, headers)).status).toBe(200);
    expect(await runCli(['tenant', 'suspend', 'acme'], controlEnv)).toBe(0);
    expect(
      await timeUntilRefused(
        replicas,
        headers,
        ({ status, reason }) => status === 403 && reason === 'TENANT_SUSPENDED',
      ),
    ).toBeLessThan(PROMISE_MS);
    expect(await runCli(['tenant', 'resume', 'acme'], controlEnv)).toBe(0);
    expect(await timeUntilRefused(replicas, headers, ({ status }) => status === 200)).toBeLessThan(PROMISE_MS);
  });

  it('both serve a manifest published on the control plane within 5 s, and refuse it once retired', async () => {
    const { key } = await controlPlane.apiKeys.issue({
      tenantId: 'globex',
      clientName: 'Globex monitor',
      scopes: ['catalog:read'],
      manifest: 'monitor',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    const headers = { 'x-api-key': key };
    const body = PING_BY_ID;
    await untilKeyKnown(replicas, headers, body);
    // Both have cached that nothing is published, so only the announcement or the cache lifetime can change it.
    for (const replica of replicas)
      expect(await ask(replica, headers, body)).toMatchObject({ status: 400, code: 'PERSISTED_QUERY_NOT_IN_LIST' });
    const published = await controlPlane.manifests.publish('globex', 'monitor', pingManifest());
    expect(await timeUntilRefused(replicas, headers, ({ status }) => status === 200, body)).toBeLessThan(PROMISE_MS);
    await controlPlane.manifests.retire('globex', 'monitor', published.version);
    expect(
      await timeUntilRefused(replicas, headers, ({ code }) => code === 'PERSISTED_QUERY_NOT_IN_LIST', body),
    ).toBeLessThan(PROMISE_MS);
  });
});
