/**
 * Tollgate on a real Redis Cluster (three masters started from `redis-server` in cluster mode): two gateway processes
 * given `REDIS_URL=redis+cluster://…` share one tenant budget, see each other's APQ registrations, and both refuse a
 * revoked key within 5 s; a change announced through any node reaches a subscriber connected to another.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { createLogger } from '../../../common/logger';
import { eventually } from '../../../test/support/eventually';
import { createTestIssuer, type TestIssuer } from '../testing/jwt';
import { writeTrustedIssuersFile } from '../testing/platform';
import { startTestRedisCluster, type TestRedisCluster } from '../testing/redis-cluster';
import {
  changesChannel,
  createChangePublisher,
  subscribeToChanges,
  type ChangePublisher,
  type ControlPlaneChange,
} from '../tenants/changes';
import { openControlPlane, type ControlPlane } from '../control-plane/open';
import { operationId } from '../persisted/manifest';
import { budgetKey } from '../budget/keys';
import { DEFAULT_SUPERGRAPH_PATH } from '../config';
import { byId, testManifest } from '../testing/manifests';
import { closeRedisClient, createRedisClient, parseRedisUrl } from './connect';
import { startReplica, stopReplica, unreachableSubgraphUrls, type Replica } from '../testing/replicas';

const BUDGET_CAPACITY = 5;
const PROMISE_MS = 5_000;

interface Answer {
  status: number;
  code?: unknown;
  data?: unknown;
}

async function ask(replica: Replica, headers: Record<string, string>, body: unknown): Promise<Answer> {
  const res = await fetch(replica.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
  return { status: res.status, code: answer.errors?.[0]?.extensions?.code, data: answer.data };
}

/**
 * Asks until the answer is not a fail-closed 503: on a loaded machine a budget call to Redis can time out (100 ms),
 * and the replica then refuses with SERVICE_UNAVAILABLE until its probe finds Redis again (budget/budget.ts).
 */
async function askServed(replica: Replica, headers: Record<string, string>, body: unknown): Promise<Answer> {
  const started = Date.now();
  for (;;) {
    const answer = await ask(replica, headers, body);
    if (answer.code !== 'SERVICE_UNAVAILABLE' || Date.now() - started > PROMISE_MS) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let cluster: TestRedisCluster;

beforeAll(async () => {
  cluster = await startTestRedisCluster(3);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('REDIS_URL', () => {
  it('names one node, a Sentinel-managed primary or a cluster, and refuses anything else', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl('rediss+cluster://u:p%40ss@h1:7000,h2')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 6379 },
      ],
      username: 'u',
      password: 'p@ss',
      tls: true,
    });
    expect(parseRedisUrl('redis+sentinel://:secret@s1:26379,s2/mymaster')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      username: undefined,
      password: 'secret',
      tls: false,
    });
    for (const bad of [
      'http://h:1',
      'redis+cluster://',
      'redis+cluster://h1:99999',
      'redis+cluster://h1/0',
      'redis+sentinel://s1:26379',
      'redis+cluster://a b:1',
    ]) {
      expect(() => parseRedisUrl(bad)).toThrow(/^REDIS_URL /);
    }
    // The message never repeats the URL (it may hold a password).
    expect(() => parseRedisUrl('redis+sentinel://:hunter2@s1')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });
});

describe('on a 3-master Redis Cluster', () => {
  it('runs the budget script: every key of one tenant is in one slot, and tenants spread over the nodes', async () => {
    const client = createRedisClient(cluster.url, {
      enableOfflineQueue: true,
      connectTimeoutMs: 2_000,
      retryStrategy: () => 100,
    });
    try {
      const slotOf = async (key: string) => Number(await client.call('CLUSTER', 'KEYSLOT', key));
      const acme = ['jwt', 'apiKey'].map((credential) =>
        budgetKey({ tenantId: 'acme', credential, principal: `p-${credential}` }),
      );
      expect(new Set(await Promise.all(acme.map(slotOf))).size).toBe(1);
      const tenants = Array.from({ length: 24 }, (_, i) =>
        budgetKey({ tenantId: `tenant-${i}`, credential: 'jwt', principal: 'p' }),
      );
      expect(new Set(await Promise.all(tenants.map(slotOf))).size).toBeGreaterThan(1);
    } finally {
      await closeRedisClient(client);
    }
  });

  it('delivers a change published through any node to a subscriber, whichever node it is connected to', async () => {
    const dbName = `cluster_changes_${randomBytes(4).toString('hex')}`;
    const heard: ControlPlaneChange[] = [];
    const subscription = subscribeToChanges({
      redisUrl: cluster.url,
      dbName,
      logger: createLogger({ level: 'error', sink: () => undefined }),
      onChange: (change) => heard.push(change),
      onResync: () => undefined,
    });
    await subscription.ready;
    // Plain clients on each node in turn: classic PUBLISH is forwarded over the cluster bus to every node.
    const nodes = cluster.ports.map((port) => new Redis({ port, host: '127.0.0.1' }));
    try {
      for (const [i, node] of nodes.entries())
        await node.publish(changesChannel(dbName), JSON.stringify({ kind: 'apiKey', id: `k${i}` }));
      const started = Date.now();
      while (heard.length < nodes.length && Date.now() - started < PROMISE_MS)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(heard.map((c) => c.id).sort()).toEqual(['k0', 'k1', 'k2']);
    } finally {
      await Promise.all(nodes.map((node) => node.quit()));
      await subscription.close();
    }
  });

  describe('two gateway processes', () => {
    let issuer: TestIssuer;
    let controlPlane: ControlPlane;
    let changes: ChangePublisher;
    let replicas: Replica[] = [];

    beforeAll(async () => {
      issuer = await createTestIssuer();
      const dbName = `tollgate_control_cluster_${randomBytes(6).toString('hex')}`;
      // The control plane announces through the cluster, as the CLI given the same REDIS_URL does.
      changes = createChangePublisher({
        redisUrl: cluster.url,
        dbName,
        onError: (error) => {
          throw error;
        },
      });
      controlPlane = await openControlPlane({ mongoUri: process.env.TEST_MONGODB_URI ?? '', dbName, changes });
      await controlPlane.tenants.createTenant({ id: 'acme', name: 'Acme', plan: 'pro' });
      await controlPlane.tenants.createTenant({ id: 'globex', name: 'Globex', plan: 'free' });
      await controlPlane.tenants.createTenant({ id: 'initech', name: 'Initech', plan: 'enterprise' });
      await controlPlane.tenants.updatePlan('enterprise', {
        limits: { budget: { capacity: BUDGET_CAPACITY, restoreRate: 0.001 } },
      });
      const urls = unreachableSubgraphUrls();
      const env = {
        ...urls,
        MONGODB_URI: process.env.TEST_MONGODB_URI ?? '',
        CONTROL_DB: dbName,
        REDIS_URL: cluster.url,
        NODE_ENV: 'production',
        PORT: '0',
        // Stopped by the test, behind no load balancer: production's shutdown delay would only slow it down.
        SHUTDOWN_DELAY_MS: '0',
        LOG_LEVEL: 'info',
        TOLLGATE_INTERNAL_SECRET: randomBytes(32).toString('hex'),
        TRUSTED_ISSUERS_FILE: writeTrustedIssuersFile(issuer),
        // As in replicas.test.ts: a timed-out reservation is a 503 here, never a run from a per-process bucket.
        BUDGET_FAIL_MODE: 'closed',
        // A loaded CI core can take longer than the 100 ms default to answer: these tests are about sharing a
        // budget, not about the deadline (budget/fault.test.ts is), so a slow answer must not turn into a 503.
        BUDGET_REDIS_TIMEOUT_MS: '1000',
        // Likewise for APQ: a registration that times out is silently not stored, and "share APQ" would then miss.
        APQ_REDIS_TIMEOUT_MS: '1000',
      };
      replicas = await Promise.all([startReplica(env), startReplica(env)]);
    }, 120_000);

    afterAll(async () => {
      await Promise.all(replicas.map(stopReplica));
      await controlPlane?.dropDatabase();
      await controlPlane?.close();
      await changes?.close();
    });

    it('share one tenant budget: of 20 concurrent operations against a budget of 5, at most 5 run and both answer 429', async () => {
      const body = { query: '{ me { id } }' };
      const headers = {
        authorization: `Bearer ${await issuer.sign({ tenant: 'initech', sub: `budget-${randomBytes(6).toString('hex')}` })}`,
      };
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(replicas[i % 2]!, headers, body)));
      const ran = answers.filter((a) => a.status === 200);
      expect(ran.length).toBeGreaterThanOrEqual(1);
      expect(ran.length).toBeLessThanOrEqual(BUDGET_CAPACITY);
      for (const answer of answers.filter((a) => a.status !== 200))
        expect(['RATE_LIMITED', 'SERVICE_UNAVAILABLE']).toContain(answer.code);
      // Both replicas refuse this caller now: the budget is shared, not per process. (Asked again rather than read
      // from the burst: on a loaded machine one replica's part of the burst can be all fail-closed 503s.)
      for (const replica of replicas)
        expect(await askServed(replica, headers, body)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      // Another tenant is unaffected.
      expect(
        (await askServed(replicas[0]!, { authorization: `Bearer ${await issuer.sign({ tenant: 'acme' })}` }, body))
          .status,
      ).toBe(200);
    });

    it('share APQ: a query registered through one replica runs by hash alone on the other', async () => {
      const query = `{ __typename } # cluster ${randomBytes(6).toString('hex')}`;
      const persisted = { extensions: { persistedQuery: { version: 1, sha256Hash: operationId(query) } } };
      const headers = { authorization: `Bearer ${await issuer.sign({ tenant: 'acme' })}` };
      expect(await ask(replicas[1]!, headers, persisted)).toMatchObject({
        status: 200,
        code: 'PERSISTED_QUERY_NOT_FOUND',
      });
      expect(await askServed(replicas[0]!, headers, { query, ...persisted })).toMatchObject({
        status: 200,
        data: { __typename: 'Query' },
      });
      expect(await askServed(replicas[1]!, headers, persisted)).toMatchObject({
        status: 200,
        data: { __typename: 'Query' },
      });
    });

    it('both refuse a key revoked on the control plane within 5 s', async () => {
      const { key, record } = await controlPlane.apiKeys.issue({
        tenantId: 'globex',
        clientName: 'Globex WMS',
        scopes: ['inventory:read'],
        manifest: 'wms-v1',
        expiresAt: new Date(Date.now() + 86_400_000),
      });
      // Partners run persisted operations only; this one is answered by the gateway itself.
      const ping = 'query Ping {\n  __typename\n}';
      await controlPlane.manifests.publish('globex', 'wms-v1', testManifest(DEFAULT_SUPERGRAPH_PATH, ping));
      const headers = { 'x-api-key': key };
      const body = byId(ping);
      // The new key reaches each replica's key-id index by its announcement, asynchronously: until then, 401.
      for (const replica of replicas)
        await eventually(
          () => askServed(replica, headers, body),
          (answer) => answer.status !== 401,
        );
      // Both have the key cached, so only the announcement (or the cache lifetime) can end it.
      for (const replica of replicas) expect((await askServed(replica, headers, body)).status).toBe(200);
      await controlPlane.apiKeys.revoke(record.id);
      const started = Date.now();
      const times = await Promise.all(
        replicas.map(async (replica) => {
          while (Date.now() - started < PROMISE_MS * 2) {
            if ((await ask(replica, headers, body)).status === 401) return Date.now() - started;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          return Infinity;
        }),
      );
      expect(Math.max(...times)).toBeLessThan(PROMISE_MS);
    });
  });
});
