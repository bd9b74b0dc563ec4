/**
 * Mutations are never run by GET, on the real subgraphs: a mutation named by its persisted id in a GET — one of the
 * tenant's frontend manifest, or registered through APQ by a POST — is refused 405 BAD_REQUEST with `Allow: POST`
 * before any stage runs, and the stock it would have changed is unchanged; the POST that registered it applied once.
 */
import { readFileSync } from 'node:fs';
import { demoProductId } from '../../demo/subgraph-data';
import { DEFAULT_SUPERGRAPH_PATH } from '../../gateway/src/config';
import { FRONTEND_MANIFEST, checkManifest, operationId } from '../../gateway/src/persisted/manifest';
import { buildApiSchema } from '../../gateway/src/schema/api-schema';
import { startRealPlatform, type RealPlatform } from './platform';

const ADJUST = 'mutation Adjust($id: ID!) {\n  adjustStock(productId: $id, delta: 5) {\n    id\n    quantity\n  }\n}';
const ADJUST_BY_APQ =
  'mutation AdjustAgain($id: ID!) {\n  adjustStock(productId: $id, delta: 1) {\n    id\n    quantity\n  }\n}';
const STOCK = 'query Stock($id: ID!) {\n  product(id: $id) {\n    quantity\n  }\n}';

let platform: RealPlatform;
let admin: string;
const productId = demoProductId('acme', 'HOODIE-001');

beforeAll(async () => {
  platform = await startRealPlatform({
    prepareControlPlane: async (controlPlane) => {
      const operations = [
        { id: operationId(ADJUST), name: 'Adjust', type: 'mutation', body: ADJUST },
        { id: operationId(STOCK), name: 'Stock', type: 'query', body: STOCK },
      ];
      const schema = buildApiSchema(readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8'));
      const checked = checkManifest({ format: 'apollo-persisted-query-manifest', version: 1, operations }, schema);
      if ('problems' in checked) throw new Error(checked.problems.join('; '));
      await controlPlane.manifests.publish('acme', FRONTEND_MANIFEST, checked.manifest);
      await controlPlane.tenants.updateTenant('acme', { safelistMode: 'log-unknown' });
    },
  });
  admin = await platform.token('acme', 'admin');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

async function getById(body: string, variables: Record<string, unknown>) {
  const params = new URLSearchParams({
    variables: JSON.stringify(variables),
    extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: operationId(body) } }),
  });
  const res = await fetch(`${platform.gateway.url}/graphql?${params.toString()}`, {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
  });
  return {
    status: res.status,
    allow: res.headers.get('allow'),
    body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

const quantity = async () => {
  const res = await getById(STOCK, { id: productId });
  expect(res.status).toBe(200);
  return (res.body.data as { product: { quantity: number } }).product.quantity;
};

it('runs a query of the frontend manifest by GET', async () => {
  expect(await quantity()).toEqual(expect.any(Number));
});

it('refuses a mutation of the frontend manifest by GET with 405, and changes nothing', async () => {
  const before = await quantity();
  const res = await getById(ADJUST, { id: productId });
  expect(res.status).toBe(405);
  expect(res.allow).toBe('POST');
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors).toEqual([
    {
      message: 'GET requests only support query operations, not mutation operations',
      extensions: { code: 'BAD_REQUEST' },
    },
  ]);
  expect(await quantity()).toBe(before);
});

it('refuses by GET a mutation registered through APQ by POST: the POST applied it once, the GET not at all', async () => {
  const before = await quantity();
  const registered = await fetch(`${platform.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({
      query: ADJUST_BY_APQ,
      variables: { id: productId },
      extensions: { persistedQuery: { version: 1, sha256Hash: operationId(ADJUST_BY_APQ) } },
    }),
  });
  expect(registered.status).toBe(200);
  expect(await quantity()).toBe(before + 1);
  const res = await getById(ADJUST_BY_APQ, { id: productId });
  expect(res.status).toBe(405);
  expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  expect(await quantity()).toBe(before + 1);
});
