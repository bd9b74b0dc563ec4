/**
 * The budget's reservation is decided while the gateway plans (pipeline/cost.ts, request.ts `PendingAdmission`), end
 * to end on the real platform (gateway, the four subgraphs, FerretDB, Redis): a caller whose bucket is empty is
 * answered 429 RATE_LIMITED exactly as when the cost stage waited for Redis — no data, Retry-After, the bucket's
 * status — and nothing the operation asked for reaches a subgraph: a mutation writes nothing (one whose arguments
 * the reference check reads waits in that stage, one without in the data source), an operation that needs no fetch
 * is refused all the same.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { budgetKey } from '../../gateway/src/budget/keys';
import { demoProductId, SHARED_SKU } from '../../demo/subgraph-data';
import { startRealPlatform, type GraphQLResult, type RealPlatform } from './platform';

const CAPACITY = 1_000;
/** A point every 1,000 s: an emptied bucket stays empty while the test runs. */
const RESTORE_RATE = 0.001;

let platform: RealPlatform;
let redis: Redis;

beforeAll(async () => {
  platform = await startRealPlatform({
    async prepareControlPlane(controlPlane) {
      await controlPlane.tenants.updatePlan('enterprise', {
        limits: { maxCost: 1_000_000, budget: { capacity: CAPACITY, restoreRate: RESTORE_RATE } },
      });
    },
  });
  redis = new Redis(process.env.TEST_REDIS_URL!);
}, 120_000);

afterAll(async () => {
  await redis?.quit();
  await platform?.stop();
});

/** An acme admin of its own (budgets are per principal, and Redis is shared with other test files). */
async function admin(): Promise<{ token: string; key: string }> {
  const sub = `budget-admission-${randomBytes(6).toString('hex')}`;
  const token = await platform.issuer.sign({ tenant: 'acme', sub, roles: ['admin'] });
  return { token, key: budgetKey({ tenantId: 'acme', credential: 'jwt', principal: sub }) };
}

/** Empties the caller's bucket as spending would: no points left as of Redis's clock now. */
async function empty(key: string): Promise<void> {
  const [seconds, micros] = await redis.time();
  await redis.hset(key, 'a', '0', 't', String(Number(seconds) + Number(micros) / 1e6));
  await redis.pexpire(key, 3_600_000);
}

async function post(token: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${platform.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as GraphQLResult['body'] };
}

function expectRateLimited(answer: Awaited<ReturnType<typeof post>>, requested: number): void {
  expect(answer.status).toBe(429);
  expect(answer.body).not.toHaveProperty('data');
  expect(answer.body.errors).toHaveLength(1);
  const retryAfter = Math.ceil(requested / RESTORE_RATE);
  expect(answer.body.errors?.[0]).toEqual({
    message: `The cost budget is used up; retry in ${retryAfter} s.`,
    extensions: {
      code: 'RATE_LIMITED',
      retryAfter,
      cost: {
        requestedQueryCost: requested,
        throttleStatus: { maximumAvailable: CAPACITY, currentlyAvailable: 0, restoreRate: RESTORE_RATE },
      },
    },
  });
  expect(answer.headers.get('retry-after')).toBe(String(retryAfter));
  expect(answer.headers.get('ratelimit')).toBe(`"budget";r=0;t=${Math.ceil(CAPACITY / RESTORE_RATE)}`);
  expect(answer.body.extensions?.cost).toMatchObject({ requestedQueryCost: requested, actualQueryCost: 0 });
}

const STOCK = 'query($id: ID!) { product(id: $id) { quantity } }';
const USERS = '{ users(first: 100) { edges { node { email } } } }';
/** No reference to check: nothing but the data source's wait stands between it and the accounts subgraph. */
const INVITE = 'mutation($input: InviteUserInput!) { inviteUser(input: $input) { id } }';
const ADJUST = 'mutation($id: ID!) { adjustStock(productId: $id, delta: 5) { id quantity } }';
const REVIEWS = 'query($id: ID!) { product(id: $id) { reviews(first: 100) { totalCount } } }';
const ADD_REVIEW =
  'mutation($id: ID!) { addReview(input: { productId: $id, rating: 4, body: "refused before it is written" }) { id } }';

it('serves a caller with points, and refuses one without with the same answer as before the wait moved', async () => {
  const caller = await admin();
  const served = await post(caller.token, '{ me { id } }');
  expect(served.status).toBe(200);
  expect(served.body.errors).toBeUndefined();
  await empty(caller.key);
  expectRateLimited(await post(caller.token, '{ me { id } }'), 1);
  // An operation that needs no subgraph at all waits for the same decision before it is answered.
  expectRateLimited(await post(caller.token, '{ __typename }'), 1);
});

it('writes nothing for a refused mutation, with or without a reference check before it', async () => {
  const caller = await admin();
  const observer = await admin();
  const id = demoProductId('acme', SHARED_SKU);
  const stockBefore = (await post(observer.token, STOCK, { id })).body.data;
  const usersBefore = await post(observer.token, USERS);
  expect(usersBefore.body.errors).toBeUndefined();
  const reviewsBefore = (await post(observer.token, REVIEWS, { id })).body.data;
  await empty(caller.key);

  const email = `refused-${randomBytes(4).toString('hex')}@acme.test`;
  const invited = await post(caller.token, INVITE, { input: { name: 'Refused', email, roles: ['CUSTOMER'] } });
  expect(invited.status).toBe(429);
  expect(invited.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  const adjusted = await post(caller.token, ADJUST, { id });
  expect(adjusted.status).toBe(429);
  expect(adjusted.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  // addReview names a product: its reference check would fetch from products, and waits for the decision first.
  const added = await post(caller.token, ADD_REVIEW, { id });
  expect(added.status).toBe(429);
  expect(added.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');

  expect((await post(observer.token, USERS)).body.data).toEqual(usersBefore.body.data);
  expect(JSON.stringify(usersBefore.body.data)).not.toContain(email);
  expect((await post(observer.token, STOCK, { id })).body.data).toEqual(stockBefore);
  expect((await post(observer.token, REVIEWS, { id })).body.data).toEqual(reviewsBefore);
  // The observer's own operations were served throughout: the refusals were the empty bucket's alone.
  const adjustedByObserver = await post(observer.token, ADJUST, { id });
  expect(adjustedByObserver.status).toBe(200);
  expect(adjustedByObserver.body.errors).toBeUndefined();
});
