/**
 * Usage metering and the monthly quota on the real platform (real subgraphs on FerretDB, Redis, HTTP): a scripted
 * run of mixed operations whose summed `extensions.cost.actualQueryCost` must equal what `tollgate usage` reports for
 * the tenant and for each credential, exactly; the quota refusing the first operation past it and not one before,
 * across a second replica, a restart and a lost Redis counter; the `usage` field for tenant admins only.
 */
import Redis from 'ioredis';
import { createLogger } from '../../common/logger';
import { runTollgate } from '../../cli/commands';
import { startGateway, type StartedGateway } from '../../gateway/src/server';
import { monthOf, nextMonthStart } from '../../gateway/src/metering/buckets';
import { monthBaseKey, monthKey, usageKeyPrefix } from '../../gateway/src/metering/keys';
import { startRealPlatform, type GraphQLResult, type RealPlatform } from './platform';

/** Three of the quota test's operations (5 points each): the third lands exactly on the quota, the boundary case. */
const QUOTA = 15;
const quiet = createLogger({ level: 'error', sink: () => {} });

let platform: RealPlatform;
let partnerKey: string;
let partnerKeyId: string;
let redis: Redis;

beforeAll(async () => {
  platform = await startRealPlatform({
    // The quota is read on the budget's Redis client: a loaded test machine must not turn a slow read into a
    // skipped check (fail mode open), so its command timeout is generous here; the fail modes are fault.test.ts's.
    gateway: {
      metering: { enabled: true, rollupIntervalMs: 0, quotaFailMode: 'open' },
      budgetRedisTimeoutMs: 2_000,
    },
    async prepareControlPlane(controlPlane) {
      const enterprise = await controlPlane.tenants.getPlan('enterprise');
      await controlPlane.tenants.createPlan({
        id: 'metered',
        name: 'Metered',
        limits: { ...enterprise!.limits, monthlyCostQuota: QUOTA },
      });
      await controlPlane.tenants.updateTenant('globex', { plan: 'metered' });
      const issued = await controlPlane.apiKeys.issue({
        tenantId: 'acme',
        clientName: 'acme-partner',
        scopes: ['catalog:read', 'inventory:read'],
        manifest: 'acme-partner',
        expiresAt: new Date(Date.now() + 86_400_000),
      });
      partnerKey = issued.key;
      partnerKeyId = issued.record.id;
    },
  });
  redis = new Redis(process.env.TEST_REDIS_URL ?? '');
}, 60_000);

afterAll(async () => {
  await platform?.stop();
  redis?.disconnect();
});

async function post(gateway: StartedGateway, body: unknown, auth: Record<string, string>): Promise<GraphQLResult> {
  const res = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const result = { status: res.status, body: JSON.parse(text) as GraphQLResult['body'], text };
  return Object.assign(result, { headers: res.headers });
}

const charged = (result: GraphQLResult): number => {
  const cost = result.body.extensions?.cost as { actualQueryCost?: number } | undefined;
  return cost?.actualQueryCost ?? 0;
};

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {
      MONGODB_URI: process.env.TEST_MONGODB_URI ?? '',
      CONTROL_DB: platform.controlDbName,
      REDIS_URL: process.env.TEST_REDIS_URL ?? '',
    },
  });
  return { code, stdout, stderr };
}

interface Tally {
  operations: number;
  costPoints: number;
  refusals: Record<string, number>;
}

const PRODUCTS = '{ products(first: 3) { edges { node { id name price } } } }';

describe('a scripted run of mixed operations', () => {
  it('reports exactly the summed actualQueryCost, per tenant and per credential, through the CLI and GraphQL', async () => {
    const admin = { authorization: `Bearer ${await platform.token('acme', 'admin')}` };
    const customer = { authorization: `Bearer ${await platform.token('acme', 'customer')}` };
    const partner = { 'x-api-key': partnerKey };
    const tallies: Record<string, Tally> = {};
    const run = async (credential: string, auth: Record<string, string>, body: unknown, status: number) => {
      const result = await post(platform.gateway, body, auth);
      expect(result.status).toBe(status);
      const tally = (tallies[credential] ??= { operations: 0, costPoints: 0, refusals: {} });
      tally.operations += 1;
      tally.costPoints += charged(result);
      if (result.status >= 400) {
        const code = String(result.body.errors?.[0]?.extensions?.code);
        tally.refusals[code] = (tally.refusals[code] ?? 0) + 1;
      }
      return result;
    };

    const listed = await run('jwt', admin, { query: PRODUCTS }, 200);
    expect(charged(listed)).toBeGreaterThan(0);
    const edges = (listed.body.data?.products as { edges: { node: { id: string } }[] }).edges;
    await run('jwt', customer, { query: PRODUCTS }, 200);
    // Refusals: rights (403), a page size over the bound (400), an expensive list is still charged what it cost.
    await run('jwt', customer, { query: '{ users(first: 5) { edges { node { id } } } }' }, 403);
    await run('jwt', admin, { query: '{ products(first: 500) { edges { node { id } } } }' }, 400);
    await run('jwt', admin, { query: '{ users(first: 10) { edges { node { id name email } } } }' }, 200);
    await run('jwt', admin, { query: PRODUCTS }, 200);
    // The partner's key: manifest operations only.
    const catalog = { documentId: 'e3c1e64d2a3460eeab20e882d24a5fc67b565ece62f2fbb1c639981e751b62bb' };
    const stock = { documentId: '8428d895171a1e93ea3071b56f447d85356f33e0e6e8d9d1d86137ce047e3b9c' };
    await run(partnerKeyId, partner, { ...catalog, variables: { first: 5 } }, 200);
    await run(partnerKeyId, partner, { ...stock, variables: { id: edges[0]!.node.id } }, 200);
    await run(partnerKeyId, partner, { query: PRODUCTS }, 400);
    // Usage is for the tenant's admins only, never a partner's key or another role.
    const staffUsage = await run(
      'jwt',
      { authorization: `Bearer ${await platform.token('acme', 'staff')}` },
      { query: `{ usage(month: "${monthOf(Date.now())}") { costPoints } }` },
      403,
    );
    expect(staffUsage.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await run('jwt', admin, { query: '{ usage(month: "2026-13") { costPoints } }' }, 400);
    // Its pages are bounded like every list's (1–100).
    await run(
      'jwt',
      admin,
      { query: `{ usage(month: "${monthOf(Date.now())}", byKey: true) { credentials(first: 101) { credential } } }` },
      400,
    );

    const total = Object.values(tallies).reduce(
      (sum, t) => ({ operations: sum.operations + t.operations, costPoints: sum.costPoints + t.costPoints }),
      { operations: 0, costPoints: 0 },
    );
    const month = monthOf(Date.now());

    // GraphQL, for the tenant's admin: what was counted before this operation.
    const usage = await post(
      platform.gateway,
      {
        query: `query ($m: String!) { usage(month: $m, byKey: true) {
          month operations costPoints responseBytes quota remaining refusals { code count }
          credentials { credential operations costPoints refusals { code count } } credentialCount
          firstOnly: credentials(first: 1) { credential } } }`,
        variables: { m: month },
      },
      admin,
    );
    expect(usage.status).toBe(200);
    const report = usage.body.data?.usage as Record<string, unknown> & {
      credentials: { credential: string; operations: number; costPoints: number }[];
      firstOnly: unknown;
    };
    expect(report).toMatchObject({
      month,
      operations: total.operations,
      costPoints: total.costPoints,
      quota: null,
      remaining: null,
      credentialCount: 2,
    });
    // The page: the credential with the most cost points only.
    expect(report.firstOnly).toEqual([{ credential: report.credentials[0]!.credential }]);
    expect(report.responseBytes as number).toBeGreaterThan(0);
    expect(Object.fromEntries(report.credentials.map((c) => [c.credential, [c.operations, c.costPoints]]))).toEqual(
      Object.fromEntries(Object.entries(tallies).map(([c, t]) => [c, [t.operations, t.costPoints]])),
    );
    // The usage operation itself is charged and counted like any other.
    expect(charged(usage)).toBeGreaterThan(0);
    tallies.jwt!.operations += 1;
    tallies.jwt!.costPoints += charged(usage);

    // The CLI reads the rollups in MongoDB, merged with the counters in Redis: the same totals, before and after a
    // rollup.
    const sum = Object.values(tallies).reduce((s, t) => s + t.costPoints, 0);
    // The gateway sends what it counted every USAGE_FLUSH_MS (100 ms; metering/meter.ts): the usage operation's own
    // count reaches Redis within that, and the CLI reads it from there.
    const deadline = Date.now() + 5_000;
    let early = await cli(['usage', '--tenant', 'acme', '--month', month, '--json']);
    while ((JSON.parse(early.stdout) as { operations: number }).operations !== total.operations + 1) {
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
      early = await cli(['usage', '--tenant', 'acme', '--month', month, '--json']);
    }
    expect(JSON.parse(early.stdout)).toMatchObject({ operations: total.operations + 1, costPoints: sum });
    await platform.gateway.rollupUsage();
    const out = await cli(['usage', '--tenant', 'acme', '--month', month, '--by', 'key', '--json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const printed = JSON.parse(out.stdout) as {
      costPoints: number;
      operations: number;
      credentials: {
        credential: string;
        operations: number;
        costPoints: number;
        refusals: { code: string; count: number }[];
      }[];
    };
    expect(printed.costPoints).toBe(sum);
    expect(printed.operations).toBe(total.operations + 1);
    expect(
      Object.fromEntries(
        printed.credentials.map((c) => [
          c.credential,
          {
            operations: c.operations,
            costPoints: c.costPoints,
            refusals: Object.fromEntries(c.refusals.map((r) => [r.code, r.count])),
          },
        ]),
      ),
    ).toEqual(tallies);
    // Never a secret: the key's id only.
    expect(out.stdout).not.toContain(partnerKey);

    const csv = await cli(['usage', '--tenant', 'acme', '--month', month, '--csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe('month,credential,operations,cost_points,response_bytes,refusals');
    expect(csv.stdout).toContain(`${month},total,${total.operations + 1},${sum},`);
  }, 60_000);
});

describe('the monthly quota', () => {
  let token: string;
  const extra: StartedGateway[] = [];
  afterAll(async () => {
    for (const gateway of extra) await gateway.stop().catch(() => undefined);
  });

  const op = { query: '{ products(first: 2) { edges { node { id name } } } }' };
  const asGlobex = () => ({ authorization: `Bearer ${token}` });

  it('refuses the first operation past it and not one before, with Retry-After to next month and a warning from 80 %', async () => {
    token = await platform.token('globex', 'admin');
    let used = 0;
    let served = 0;
    for (let i = 0; i < 40; i++) {
      const before = Date.now();
      const result = (await post(platform.gateway, op, asGlobex())) as GraphQLResult & { headers: Headers };
      const after = Date.now();
      if (used >= QUOTA) {
        expect(result.status).toBe(429);
        expect(result.body.errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
        expect(charged(result)).toBe(0);
        // Refused before the budget: what the budget reserved meanwhile (its round trip runs alongside the quota's)
        // is given back, and the refusal says nothing of the budget.
        expect(result.body.extensions?.cost).toBeUndefined();
        expect(result.headers.get('ratelimit')).toBeNull();
        const retryAfter = Number(result.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil((nextMonthStart(after) - after) / 1000));
        expect(retryAfter).toBeLessThanOrEqual(Math.ceil((nextMonthStart(before) - before) / 1000));
        break;
      }
      expect(result.status).toBe(200);
      expect(result.body.errors).toBeUndefined();
      used += charged(result);
      served += 1;
      // The warning says where the tenant stands after this operation's charge.
      const warning = result.headers.get('tollgate-quota-warning');
      if (used >= QUOTA * 0.8) expect(warning).toMatch(new RegExp(`^used=${used}, quota=${QUOTA}, reset=\\d+$`));
      else expect(warning).toBeNull();
    }
    // Usage reached the quota exactly (usage ≥ quota refuses; usage = quota − 5 did not).
    expect(used).toBe(QUOTA);
    expect(served).toBe(3);

    // Refused again, and a refusal changed nothing; another tenant is served as before.
    expect((await post(platform.gateway, op, asGlobex())).status).toBe(429);
    const acme = await post(platform.gateway, op, { authorization: `Bearer ${await platform.token('acme', 'admin')}` });
    expect(acme.status).toBe(200);
  }, 60_000);

  it('is shared by a second replica, survives a restart, and is rebuilt when Redis lost its counter', async () => {
    const replica = await startGateway(platform.config, { logger: quiet });
    extra.push(replica);
    const refused = await post(replica, op, asGlobex());
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
    await replica.stop();

    const restarted = await startGateway(platform.config, { logger: quiet });
    extra.push(restarted);
    expect((await post(restarted, op, asGlobex())).status).toBe(429);

    // Redis loses the month counter: it is rebuilt from the month's usage (rollups and hour counters).
    await platform.gateway.rollupUsage();
    const month = monthOf(Date.now());
    const keyPrefix = usageKeyPrefix(platform.controlDbName);
    expect(await redis.del(monthKey(keyPrefix, 'globex', month), monthBaseKey(keyPrefix, 'globex', month))).toBe(2);
    const rebuilt = await post(restarted, op, asGlobex());
    expect(rebuilt.status).toBe(429);
    expect(Number(await redis.get(monthKey(keyPrefix, 'globex', month)))).toBeGreaterThanOrEqual(QUOTA);
  }, 60_000);
});
