/**
 * "View as" on the real graph and rules: a token holding `developer` and `customer` previews either persona with
 * `Tollgate-Preview-Roles`. Introspection, /schema.graphql, the explorer's estimate and the operations themselves
 * follow the persona; a role the token does not hold, or a token without the developer role, is refused — the
 * header narrows, it never grants.
 */
import { demoProductId } from '../../demo/subgraph-data';
import { startRealPlatform, type RealPlatform } from './platform';

const MUTATIONS = '{ __schema { mutationType { fields { name } } } }';
const ADD_REVIEW =
  'mutation Add($id: ID!) { addReview(input: { productId: $id, rating: 5, body: "Previewed as a customer" }) { id rating } }';
const REVIEW_COUNT = 'query Reviews($id: ID!) { product(id: $id) { reviews(first: 100) { edges { node { id } } } } }';
const productId = demoProductId('acme', 'HOODIE-001');

let platform: RealPlatform;
let both: string;

async function post(path: string, token: string, body: unknown, preview?: string) {
  const res = await fetch(`${platform.gateway.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(preview === undefined ? {} : { 'tollgate-preview-roles': preview }),
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: { __schema?: { mutationType: { fields: { name: string }[] } | null } } & Record<string, unknown>;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    } & Record<string, unknown>,
  };
}

async function reviewCount(): Promise<number> {
  const res = await platform.graphql(both, REVIEW_COUNT, { id: productId });
  return (res.body.data as { product: { reviews: { edges: unknown[] } } }).product.reviews.edges.length;
}

beforeAll(async () => {
  platform = await startRealPlatform({ gateway: { explorerEnabled: true } });
  both = await platform.token('acme', 'customer', ['developer', 'customer']);
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

it("introspection and /schema.graphql show the persona's graph: a customer's mutations, none for a developer", async () => {
  const names = async (preview?: string) =>
    (await post('/graphql', both, { query: MUTATIONS }, preview)).body.data?.__schema?.mutationType?.fields.map(
      (f) => f.name,
    );
  expect(await names('developer')).toBeUndefined();
  expect(await names('customer')).toEqual(expect.arrayContaining(['addReview', 'deleteReview']));
  expect(await names('customer')).not.toContain('createProduct');
  expect(await names()).toEqual(expect.arrayContaining(['addReview']));

  const sdl = async (preview: string) =>
    (
      await fetch(`${platform.gateway.url}/schema.graphql`, {
        headers: { authorization: `Bearer ${both}`, 'tollgate-preview-roles': preview },
      })
    ).text();
  expect(await sdl('customer')).toContain('addReview(');
  expect(await sdl('developer')).not.toContain('addReview(');
});

it('operations are authorized as the persona', async () => {
  const before = await reviewCount();
  const asDeveloper = await post('/graphql', both, { query: ADD_REVIEW, variables: { id: productId } }, 'developer');
  expect(asDeveloper.status).toBe(403);
  expect(asDeveloper.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(await reviewCount()).toBe(before);

  const asCustomer = await post('/graphql', both, { query: ADD_REVIEW, variables: { id: productId } }, 'customer');
  expect(asCustomer.status).toBe(200);
  expect(asCustomer.body.data).toEqual({ addReview: { id: expect.any(String), rating: 5 } });
  expect(await reviewCount()).toBe(before + 1);

  const estimate = await post(
    '/explorer/estimate',
    both,
    { query: ADD_REVIEW, variables: { id: productId } },
    'customer',
  );
  expect(estimate.status).toBe(200);
  expect(estimate.body.requestedQueryCost).toBeGreaterThanOrEqual(10);
  const hidden = await post(
    '/explorer/estimate',
    both,
    { query: ADD_REVIEW, variables: { id: productId } },
    'developer',
  );
  expect(hidden.status).toBe(400);
  expect(hidden.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
});

it('never grants: a role the token lacks, a token without the developer role, an unknown role are refused', async () => {
  const before = await reviewCount();
  const cases: [string, string, number, string][] = [
    [both, 'admin', 403, 'FORBIDDEN'],
    [both, 'customer,staff', 403, 'FORBIDDEN'],
    [await platform.token('acme', 'customer'), 'customer', 403, 'FORBIDDEN'],
    [await platform.token('acme', 'admin', ['admin', 'customer']), 'customer', 403, 'FORBIDDEN'],
    [both, 'root', 400, 'BAD_USER_INPUT'],
    [both, '', 400, 'BAD_USER_INPUT'],
  ];
  for (const [token, preview, status, code] of cases) {
    const res = await post('/graphql', token, { query: ADD_REVIEW, variables: { id: productId } }, preview);
    expect({ preview, status: res.status, code: res.body.errors?.[0]?.extensions?.code }).toEqual({
      preview,
      status,
      code,
    });
    expect(res.body.data).toBeUndefined();
  }
  const refused = await post('/graphql', both, { query: MUTATIONS }, 'admin');
  expect(refused.body.errors?.[0]?.message).toContain('--roles developer,customer,admin');
  expect(await reviewCount()).toBe(before);
});

it('introspection refused to a non-developer names the developer role, with the stable code', async () => {
  const admin = await platform.token('acme', 'admin');
  const res = await post('/graphql', admin, { query: MUTATIONS });
  expect(res.status).toBe(400);
  expect(res.body.errors?.[0]?.extensions).toEqual({
    code: 'GRAPHQL_VALIDATION_FAILED',
    validationErrorCode: 'INTROSPECTION_DISABLED',
  });
  expect(res.body.errors?.[0]?.message).toMatch(/developer role.*--roles developer/);
});
