/**
 * Placement as one subgraph process sees it (kit/placement.ts behind kit/server.ts): the signed `plc` claim picks
 * the tenant's database, an older placement epoch than one already served is refused with 503 and writes nothing,
 * and a malformed placement makes the token itself invalid. The platform API (kit/platform/api.ts) follows the
 * placement its signed body names, under the same epoch guard, and its erase reaches both placements.
 */
import {
  PLATFORM_TOKEN_HEADER,
  derivePlatformKey,
  hashBody,
  mintPlatformToken,
  platformAudience,
  type PlatformOperation,
} from '../../common/platform-token';
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

/** A signed platform call for acme, as the CLI makes it (cli/lifecycle/platform-client.ts). */
async function platformCall(op: PlatformOperation, body: Record<string, unknown> = {}) {
  const text = JSON.stringify({ ...body, tenant: 'acme' });
  const now = Date.now();
  const token = mintPlatformToken(derivePlatformKey(sg.key), {
    kind: 'platform',
    aud: platformAudience('products'),
    op,
    ten: 'acme',
    bh: hashBody(Buffer.from(text)),
    rid: 'test-platform',
    iat: now,
    exp: now + 30_000,
  });
  const res = await fetch(new URL(`/_platform/${op}`, sg.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', [PLATFORM_TOKEN_HEADER]: token },
    body: text,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the platform API', () => {
  const productsOf = (answer: { body: Record<string, unknown> }) =>
    (answer.body.collections as { collection: string; count: number }[]).find((c) => c.collection === 'products');

  test('reads the placement its signed body names, under the same epoch guard as requests', async () => {
    // acme was served at silo epoch 2 above: its silo holds SILO-1 and SILO-2, the shared database LEGACY-1 and
    // POOLED-1.
    const silo = await platformCall('stats', { placement: { tier: 'silo', epoch: 2 } });
    expect(silo.status).toBe(200);
    expect(productsOf(silo)?.count).toBe(2);
    const stale = await platformCall('stats', { placement: { tier: 'pooled', epoch: 1 } });
    expect(stale).toEqual({
      status: 409,
      body: {
        errors: [
          {
            message: 'The tenant’s placement changed: read it again and retry',
            extensions: { code: 'STALE_PLACEMENT' },
          },
        ],
      },
    });
    for (const placement of [undefined, { tier: 'bridge', epoch: 2 }, { tier: 'silo', epoch: -1 }]) {
      const refused = await platformCall('stats', placement ? { placement } : {});
      expect(refused.status).toBe(400);
      expect((refused.body.errors as { extensions: { code: string } }[])[0]!.extensions.code).toBe('BAD_USER_INPUT');
    }
  });

  test('erase deletes the tenant in both placements and drops its silo database', async () => {
    const client = sg.connection.getClient();
    const pooledBefore = await client
      .db(sg.connection.name)
      .collection('products')
      .countDocuments({ tenantId: 'acme' });
    expect(pooledBefore).toBeGreaterThan(0);
    const erased = await platformCall('erase');
    expect(erased.status).toBe(200);
    expect(erased.body).toEqual({
      subgraph: 'products',
      collections: [
        { collection: 'products', placement: 'pooled', before: pooledBefore, after: 0 },
        { collection: 'products', placement: 'silo', before: 2, after: 0 },
      ],
      silo: 'dropped',
    });
    expect(await client.db(sg.connection.name).collection('products').countDocuments({ tenantId: 'acme' })).toBe(0);
    expect(await client.db(silo().name).listCollections().toArray()).toEqual([]);
    // A re-run finds nothing, and no silo database.
    const again = await platformCall('erase');
    expect(again.body).toEqual({
      subgraph: 'products',
      collections: [{ collection: 'products', placement: 'pooled', before: 0, after: 0 }],
      silo: 'absent',
    });
  });
});
