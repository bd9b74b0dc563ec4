/**
 * Placement as one subgraph process sees it (kit/placement.ts behind kit/server.ts): the signed `plc` claim picks
 * the tenant's database, an older placement epoch than one already served is refused with 503 and writes nothing,
 * and a malformed placement makes the token itself invalid.
 */
import { products } from '../products';
import { siloDbName } from './placement';
import { startTestSubgraph, userCaller, type TestSubgraph } from './testing';

const CREATE = 'mutation($input: CreateProductInput!) { createProduct(input: $input) { id sku } }';
const LIST = '{ products(first: 50) { edges { node { sku } } } }';
const staff = userCaller('acme', 'staff@acme.test', ['staff']);
let sg: TestSubgraph;

const create = (sku: string, epoch: number, tier: 'pooled' | 'silo' = 'silo') =>
  sg.request(CREATE, {
    as: staff,
    variables: { input: { sku, name: sku, price: 1, weight: 1 } },
    claims: { plc: { tier, epoch } },
  });
const silo = () => sg.connection.useDb(siloDbName(sg.connection.name, 'acme'), { useCache: true });

beforeAll(async () => {
  sg = await startTestSubgraph(products);
});
afterAll(async () => {
  if (sg) await silo().dropDatabase();
  await sg?.close();
});

test('a silo placement writes to the tenant database; a pooled one to the shared one', async () => {
  // No placement (a gateway that predates tiers) is pooled at epoch 0.
  const legacy = await sg.request(CREATE, {
    as: staff,
    variables: { input: { sku: 'LEGACY-1', name: 'legacy', price: 1, weight: 1 } },
  });
  expect(legacy.body.errors).toBeUndefined();
  expect((await create('SILO-1', 1)).body.errors).toBeUndefined();
  expect((await create('POOLED-1', 1, 'pooled')).body.errors).toBeUndefined();
  const client = sg.connection.getClient();
  expect(await client.db(silo().name).collection('products').countDocuments({ tenantId: 'acme' })).toBe(1);
  expect(await client.db(sg.connection.name).collection('products').countDocuments({ sku: 'SILO-1' })).toBe(0);
  const listed = await sg.request(LIST, { as: staff, claims: { plc: { tier: 'silo', epoch: 1 } } });
  expect(listed.text).toContain('SILO-1');
  expect(listed.text).not.toContain('POOLED-1');
  const pooled = await sg.request(LIST, { as: staff, claims: { plc: { tier: 'pooled', epoch: 1 } } });
  expect(pooled.text).toContain('POOLED-1');
  expect(pooled.text).toContain('LEGACY-1');
  expect(pooled.text).not.toContain('SILO-1');
  // Once epoch 1 was served, a request without a placement is as stale as one at epoch 0.
  expect((await sg.request(LIST, { as: staff })).status).toBe(503);
});

test('a placement epoch older than one already served is refused with 503 and writes nothing', async () => {
  expect((await create('SILO-2', 2)).status).toBe(200);
  const stale = await create('STALE-1', 1, 'pooled');
  expect(stale.status).toBe(503);
  expect(stale.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  const client = sg.connection.getClient();
  for (const db of [sg.connection.name, silo().name])
    expect(await client.db(db).collection('products').countDocuments({ sku: 'STALE-1' })).toBe(0);
  expect(sg.logs.some((line) => line.msg === 'stale tenant placement refused')).toBe(true);
});

test.each([
  ['an unknown tier', { plc: { tier: 'bridge', epoch: 0 } }],
  ['a negative epoch', { plc: { tier: 'silo', epoch: -1 } }],
])('a token with %s is refused as unauthenticated', async (_label, claims) => {
  const res = await sg.request(LIST, { as: staff, claims: claims as never });
  expect(res.status).toBe(401);
  expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
});
