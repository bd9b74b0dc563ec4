/**
 * Filter mode and cost, end to end on the real platform (gateway, the four subgraphs, FerretDB, Redis): the cost
 * stage prices, reserves and charges the document that runs — the filtered one — not the one the client sent.
 *
 * The operation asks for the catalog, which a customer may read, and for another user's reviews of products with
 * their reviews, which a customer may not (`Query.user`): that denied part is almost all of the original's cost. The plan's budget holds the
 * filtered operation but can never hold the original, so an estimate or a reservation of the original document is
 * refused (COST_ESTIMATED_TOO_EXPENSIVE) instead of answered; the test's own estimator, over the same supergraph,
 * says what each document costs, and the gateway must report the filtered one's.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_SUPERGRAPH_PATH } from '../../gateway/src/config';
import { actualCost } from '../../gateway/src/cost/actual';
import { createCostEstimator, createCostModel } from '../../gateway/src/cost/estimate';
import { resolvedOperation } from '../../gateway/src/testing/operation';
import { demoUserId } from '../../demo/subgraph-data';
import { startRealPlatform, type GraphQLResult, type RealPlatform } from './platform';

const CATALOG = 'products(first: 10) { edges { node { name reviews(first: 3) { edges { node { rating } } } } } }';
/** Nullable, so filter mode nulls just this field; a hundred reviews, each of a product with a hundred reviews. */
const USER = `user(id: "${demoUserId('acme', 'admin')}") { name reviews(first: 100) { edges { node { product { reviews(first: 100) { edges { node { rating body } } } } } } } }`;
/** What the client sends. */
const ORIGINAL = `query CatalogAndUsers { ${CATALOG} ${USER} }`;
/** What filter mode runs for a customer: `user` taken out (written by hand, independently of the filter). */
const FILTERED = `query CatalogAndUsers { ${CATALOG} }`;

const estimator = createCostEstimator({ model: createCostModel(readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8')) });
const PRICING_CALLER = {
  tenantId: 'acme',
  principal: 'pricing',
  roles: [],
  credential: 'jwt',
  tokenExpiresAt: 0,
} as const;
const estimate = (query: string) => estimator.estimate(resolvedOperation(query, PRICING_CALLER));
const originalCost = estimate(ORIGINAL).cost;
const filtered = estimate(FILTERED);
/** Holds the filtered operation many times over, the original never; it barely refills while the test runs. */
const CAPACITY = Math.floor((filtered.cost + originalCost) / 2);
const RESTORE_RATE = 0.001;

let platform: RealPlatform;

beforeAll(async () => {
  platform = await startRealPlatform({
    async prepareControlPlane(controlPlane) {
      // Shape limits and maxCost out of the way: only the pricing of the document decides.
      await controlPlane.tenants.updatePlan('pro', {
        limits: { maxCost: 1_000_000, budget: { capacity: CAPACITY, restoreRate: RESTORE_RATE } },
      });
      await controlPlane.tenants.updateTenant('acme', { plan: 'pro', authzMode: 'filter' });
      await controlPlane.tenants.updateTenant('globex', { plan: 'pro', authzMode: 'reject' });
    },
  });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

/** A customer of `tenant` with a principal of its own: the budget is per principal, and Redis is shared. */
async function customer(tenant: string, roles: ('customer' | 'admin')[] = ['customer']): Promise<string> {
  return platform.issuer.sign({ tenant, sub: `filter-cost-${randomBytes(6).toString('hex')}`, roles });
}

interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

const costOf = (result: GraphQLResult) => result.body.extensions?.cost as CostExtension;

it('the two documents cost differently enough to tell which one was priced', () => {
  expect(filtered.cost).toBeGreaterThan(1);
  expect(originalCost).toBeGreaterThan(CAPACITY);
  expect(filtered.cost).toBeLessThan(CAPACITY / 10);
});

it('in filter mode prices, reserves and charges the filtered document', async () => {
  const token = await customer('acme');
  const first = await platform.graphql(token, ORIGINAL);
  expect(first.status).toBe(200);
  expect(first.body.data?.user).toBeNull();
  expect((first.body.data?.products as { edges: unknown[] }).edges.length).toBeGreaterThan(0);
  expect(first.body.errors).toEqual([
    expect.objectContaining({ path: ['user'], extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' } }),
  ]);

  const cost = costOf(first);
  // The estimate is the filtered document's, not the original's.
  expect(cost.requestedQueryCost).toBe(filtered.cost);
  expect(cost.requestedQueryCost).not.toBe(originalCost);
  // The charge is the filtered plan's actual cost over the answer.
  const charged = Math.max(actualCost(first.body.data, filtered.plan, {}), 1);
  expect(cost.actualQueryCost).toBe(charged);
  // The bucket as this operation left it: the reservation given back, the charge taken (refill is negligible).
  expect(cost.throttleStatus.maximumAvailable).toBe(CAPACITY);
  expect(cost.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(CAPACITY - charged);
  expect(cost.throttleStatus.currentlyAvailable).toBeLessThan(CAPACITY - charged + 1);

  // The charge is in the shared bucket: the next operation finds it there.
  const second = await platform.graphql(token, ORIGINAL);
  expect(second.status).toBe(200);
  expect(costOf(second).requestedQueryCost).toBe(filtered.cost);
  expect(costOf(second).throttleStatus.currentlyAvailable).toBeLessThan(
    CAPACITY - charged - costOf(second).actualQueryCost + 1,
  );
});

it('in reject mode refuses the same operation, before any reservation', async () => {
  const refused = await platform.graphql(await customer('globex'), ORIGINAL);
  expect(refused.status).toBe(403);
  expect(refused.body.data).toBeUndefined();
  expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  expect(refused.body.extensions?.cost).toBeUndefined();
});

it('prices the original document as the test does when nothing is filtered: the budget can never hold it', async () => {
  // An admin may look up users: the whole document runs, and its price is the original's.
  const refused = await platform.graphql(await customer('globex', ['admin']), ORIGINAL);
  expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['COST_ESTIMATED_TOO_EXPENSIVE']);
  expect(refused.body.errors?.[0]?.extensions).toMatchObject({ estimated: originalCost, maximum: CAPACITY });
  expect(costOf(refused)).toMatchObject({ requestedQueryCost: originalCost, actualQueryCost: 0 });
});
