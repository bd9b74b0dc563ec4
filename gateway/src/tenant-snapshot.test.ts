/**
 * One request, one version of its tenant: authentication takes a snapshot of the tenant (request.ts) and every later
 * step — body bounds, shape limits, authorization, the cost estimate, the reservation, the settlement — reads that
 * snapshot, never the directory again. On the real gateway over the fixture subgraphs, FerretDB and Redis, a request
 * is held right after authentication (server.ts, `afterAuthenticationForTests`) while the tenant is re-planned or
 * suspended through the control plane; another request then polls until the gateway's directory has the new version
 * (announcements, or the directory's lifetime as backstop — no sleep races it); only then is the held request let go.
 * It must be answered, limited, priced and charged by the version authentication saw; the next request by the new one.
 */
import { randomBytes } from 'node:crypto';
import type { RequestContext } from './request';
import { startTestPlatform, type GraphQLHttpResult, type TestPlatform } from './testing/platform';

/** 12 aliases: within the pro plan's 30, over the free plan's 10. */
const ALIASED = `{ products { ${Array.from({ length: 12 }, (_, i) => `a${i}: name`).join(' ')} } }`;
const SMALL = '{ products { name } }';
const PRO_CAPACITY = 10_000;
const FREE_CAPACITY = 1_000;
/** Buckets barely refill while a test runs, so what a request left in one can be read back exactly. */
const RESTORE_RATE = 0.001;
const POLL_DEADLINE_MS = 10_000;

interface Hold {
  tenantId: string;
  /** Resolved with the request context once the held request has been authenticated. */
  reached: (request: RequestContext) => void;
  release: Promise<void>;
}

let platform: TestPlatform;
let hold: Hold | undefined;

beforeAll(async () => {
  platform = await startTestPlatform(
    {},
    {
      // Holds the one armed request of the armed tenant; every other request goes straight on.
      async afterAuthentication(request) {
        const armed = hold;
        if (!armed || request.caller?.tenantId !== armed.tenantId) return;
        hold = undefined;
        armed.reached(request);
        await armed.release;
      },
    },
  );
  // This platform's own control plane: the plans' other limits stay the defaults.
  await platform.controlPlane.tenants.updatePlan('pro', {
    limits: { budget: { capacity: PRO_CAPACITY, restoreRate: RESTORE_RATE } },
  });
  await platform.controlPlane.tenants.updatePlan('free', {
    limits: { budget: { capacity: FREE_CAPACITY, restoreRate: RESTORE_RATE } },
  });
}, 60_000);

afterAll(async () => {
  await platform?.stop();
});

/** A tenant of this test alone (Redis budgets are shared with other runs), on the pro plan. */
async function newTenant(): Promise<string> {
  const id = `snapshot-${randomBytes(5).toString('hex')}`;
  await platform.controlPlane.tenants.createTenant({ id, name: 'Snapshot', plan: 'pro' });
  return id;
}

const tokenFor = (tenant: string) => platform.issuer.sign({ tenant, sub: `user-${randomBytes(5).toString('hex')}` });

/**
 * Sends `query` as `token` and holds it right after authentication; resolves once it is held, with the request
 * context authentication filled in, the release, and the pending answer.
 */
async function sendHeld(tenantId: string, query: string, token: string) {
  let reached!: (request: RequestContext) => void;
  let release!: () => void;
  const held = new Promise<RequestContext>((resolve) => (reached = resolve));
  hold = { tenantId, reached, release: new Promise<void>((resolve) => (release = resolve)) };
  const answer = platform.graphql({ query }, { token });
  // Should the request fail before it is held, the answer says why.
  const request = await Promise.race([
    held,
    answer.then((res) => Promise.reject(new Error(`answered unheld: ${res.text}`))),
  ]);
  return { request, release, answer };
}

/** Polls with real requests until the gateway answers the new version of the tenant. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + POLL_DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the gateway never saw ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number };
}
const costOf = (res: GraphQLHttpResult) => res.body.extensions?.cost as CostExtension;
const codesOf = (res: GraphQLHttpResult) =>
  res.body.errors?.map((e) => e.extensions?.validationErrorCode ?? e.extensions?.code);

/** Answered, priced and charged in full by the pro plan, as authentication saw the tenant. */
function expectDecidedByPro(res: GraphQLHttpResult): void {
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.products).toEqual([
    expect.objectContaining({ a0: 'Kettle', a11: 'Kettle' }),
    expect.objectContaining({ a0: 'Teapot' }),
  ]);
  const cost = costOf(res);
  expect(cost.actualQueryCost).toBeGreaterThanOrEqual(1);
  expect(cost.throttleStatus.maximumAvailable).toBe(PRO_CAPACITY);
  // Reserved and settled in the pro bucket: a fresh bucket less the charge (free's would hold at most 1 000).
  expect(cost.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(PRO_CAPACITY - cost.actualQueryCost);
  expect(cost.throttleStatus.currentlyAvailable).toBeLessThan(PRO_CAPACITY - cost.actualQueryCost + 1);
  expect(res.headers.get('ratelimit-policy')).toBe(
    `"budget";q=${PRO_CAPACITY};w=${Math.ceil(PRO_CAPACITY / RESTORE_RATE)}`,
  );
}

afterEach(() => {
  hold = undefined;
});

it('a tenant re-planned during a request: that request keeps the old plan throughout, the next gets the new one', async () => {
  const tenant = await newTenant();
  const token = await tokenFor(tenant);
  const { request, release, answer } = await sendHeld(tenant, ALIASED, token);
  expect(request.tenant).toMatchObject({ status: 'active', plan: { id: 'pro' } });

  await platform.controlPlane.tenants.updateTenant(tenant, { plan: 'free' });
  const other = await tokenFor(tenant);
  await until(
    'the free plan',
    async () => codesOf(await platform.graphql({ query: ALIASED }, { token: other }))?.[0] === 'MAX_ALIASES_LIMIT',
  );

  release();
  expectDecidedByPro(await answer);

  // The next request of the same caller is decided by the free plan: its limits and its budget.
  const next = await platform.graphql({ query: ALIASED }, { token });
  expect(next.status).toBe(400);
  expect(codesOf(next)).toEqual(['MAX_ALIASES_LIMIT']);
  const small = await platform.graphql({ query: SMALL }, { token });
  expect(small.status).toBe(200);
  expect(costOf(small).throttleStatus.maximumAvailable).toBe(FREE_CAPACITY);
});

it('a tenant suspended during a request: that request is answered and charged as the active tenant, the next is refused', async () => {
  const tenant = await newTenant();
  const token = await tokenFor(tenant);
  const { request, release, answer } = await sendHeld(tenant, ALIASED, token);
  expect(request.tenant).toMatchObject({ status: 'active', plan: { id: 'pro' } });

  // Suspended and moved to the free plan in one write: any step that read the directory again would see both.
  await platform.controlPlane.tenants.updateTenant(tenant, { status: 'suspended', plan: 'free' });
  const other = await tokenFor(tenant);
  await until(
    'the suspension',
    async () => (await platform.graphql({ query: SMALL }, { token: other })).status === 403,
  );

  release();
  expectDecidedByPro(await answer);

  const next = await platform.graphql({ query: SMALL }, { token });
  expect(next.status).toBe(403);
  expect(next.body.errors?.map((e) => e.extensions)).toEqual([{ code: 'FORBIDDEN', reason: 'TENANT_SUSPENDED' }]);
  expect(next.body.data).toBeUndefined();
  expect(next.body.extensions?.cost).toBeUndefined();
});
