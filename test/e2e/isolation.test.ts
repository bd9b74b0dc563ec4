/**
 * Tenant isolation end to end, through the gateway, on the real subgraphs and the embedded database: with acme's
 * token, globex's objects are never returned — not by id at the root, not through entity references, not nested
 * under another type, not by a colliding sku or e-mail — and another tenant's object looks exactly like a missing one.
 */
import { SHARED_PRODUCT_NAME, SHARED_SKU, demoProductId, demoUserId } from '../../demo/subgraph-data';
import { SUBGRAPH_TIMEOUT_MS, startRealPlatform, type GraphQLResult, type RealPlatform } from './platform';

let platform: RealPlatform;
let acmeAdmin: string;
let acmeCustomer: string;
let globexAdmin: string;
/** Strings only globex's data contains: ids, names, e-mails, review bodies. */
let globexOnly: string[];

const ALL_OF_IT = `{
  me { id name }
  users(first: 50) { edges { node { id name email } } }
  products(first: 20) {
    edges { node { id sku name price inStock quantity shippingEstimate
      reviews(first: 10) { edges { node { id body rating author { id name reviews(first: 5) { edges { node { id body } } } } } } } } }
  }
}`;

function expectNoGlobex(result: GraphQLResult): void {
  for (const value of globexOnly) expect(result.text).not.toContain(value);
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

beforeAll(async () => {
  platform = await startRealPlatform();
  acmeAdmin = await platform.token('acme', 'admin');
  acmeCustomer = await platform.token('acme', 'customer');
  globexAdmin = await platform.token('globex', 'admin');
  const globex = await platform.graphql(globexAdmin, ALL_OF_IT);
  expect(globex.body.errors).toBeUndefined();
  const acme = await platform.graphql(acmeAdmin, ALL_OF_IT);
  expect(acme.body.errors).toBeUndefined();
  // What both tenants legitimately share (the colliding sku and name, ratings, "true") is not evidence of a leak.
  const acmeStrings = new Set(strings(acme.body.data));
  globexOnly = [...new Set(strings(globex.body.data))].filter((s) => !acmeStrings.has(s) && s.length >= 4);
  expect(globexOnly.length).toBeGreaterThan(30);
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('a query spanning all four subgraphs', () => {
  it('returns the caller tenant’s data from every subgraph and nothing of the other tenant', async () => {
    const result = await platform.graphql(
      acmeAdmin,
      '{ me { name } products(first: 3) { edges { node { name inStock reviews(first: 2) { edges { node { rating author { name } } } } } } } }',
    );
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    const data = result.body.data as {
      me: { name: string };
      products: {
        edges: {
          node: { name: string; inStock: boolean | null; reviews: { edges: { node: { author: { name: string } } }[] } };
        }[];
      };
    };
    expect(data.me.name).toEqual(expect.any(String));
    expect(data.products.edges).toHaveLength(3);
    for (const { node } of data.products.edges) expect(typeof node.inStock).toBe('boolean');
    const authors = data.products.edges.flatMap(({ node }) => node.reviews.edges.map((e) => e.node.author.name));
    expect(authors.length).toBeGreaterThan(0);
    expect(result.body.extensions?.cost).toMatchObject({
      requestedQueryCost: expect.any(Number),
      actualQueryCost: expect.any(Number),
    });
    expectNoGlobex(result);
  });

  it('reaches nested entities (products → reviews → authors → their reviews) only within the tenant', async () => {
    const result = await platform.graphql(acmeAdmin, ALL_OF_IT);
    expect(result.body.errors).toBeUndefined();
    expectNoGlobex(result);
  });
});

describe('by id at the root', () => {
  it('answers another tenant’s product exactly like a missing one: null with NOT_FOUND', async () => {
    const foreign = await platform.graphql(acmeAdmin, 'query($id: ID!) { product(id: $id) { id name } }', {
      id: demoProductId('globex', 'HOODIE-001'),
    });
    const missing = await platform.graphql(acmeAdmin, 'query($id: ID!) { product(id: $id) { id name } }', {
      id: 'f'.repeat(24),
    });
    const malformed = await platform.graphql(acmeAdmin, 'query($id: ID!) { product(id: $id) { id name } }', {
      id: 'nope',
    });
    for (const result of [foreign, missing, malformed]) {
      expect(result.status).toBe(200);
      expect(result.body.data).toEqual({ product: null });
      expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    }
    expect(foreign.body.errors?.[0]?.message).toBe(missing.body.errors?.[0]?.message);
    expect(foreign.body.errors?.[0]?.message).toBe(malformed.body.errors?.[0]?.message);
  });

  it('answers another tenant’s user like a missing one', async () => {
    const foreign = await platform.graphql(acmeAdmin, 'query($id: ID!) { user(id: $id) { id name email } }', {
      id: demoUserId('globex', 'admin'),
    });
    const missing = await platform.graphql(acmeAdmin, 'query($id: ID!) { user(id: $id) { id name email } }', {
      id: 'e'.repeat(24),
    });
    expect(foreign.body).toEqual(
      missing.body.extensions ? { ...missing.body, extensions: foreign.body.extensions } : missing.body,
    );
    expect(foreign.body.data).toEqual({ user: null });
    expect(foreign.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });
});

describe('colliding natural keys', () => {
  it('lists only the tenant’s own product under a SKU and name both tenants use', async () => {
    const result = await platform.graphql(acmeCustomer, '{ products(first: 100) { edges { node { id sku name } } } }');
    const nodes = (
      result.body.data?.products as { edges: { node: { id: string; sku: string; name: string } }[] }
    ).edges.map((e) => e.node);
    const shared = nodes.filter((n) => n.sku === SHARED_SKU);
    expect(shared).toEqual([{ id: demoProductId('acme', SHARED_SKU), sku: SHARED_SKU, name: SHARED_PRODUCT_NAME }]);
    expect(nodes.map((n) => n.id)).not.toContain(demoProductId('globex', SHARED_SKU));
  });

  it('keeps e-mail addresses unique per tenant: the same address in another tenant is another user', async () => {
    const email = `shared-${Date.now()}@example.test`;
    const invite = 'mutation($input: InviteUserInput!) { inviteUser(input: $input) { id email } }';
    const inAcme = await platform.graphql(acmeAdmin, invite, {
      input: { name: 'Acme Person', email, roles: ['CUSTOMER'] },
    });
    const inGlobex = await platform.graphql(globexAdmin, invite, {
      input: { name: 'Globex Person', email, roles: ['CUSTOMER'] },
    });
    expect(inAcme.body.errors).toBeUndefined();
    expect(inGlobex.body.errors).toBeUndefined();
    const acmeUser = (inAcme.body.data?.inviteUser as { id: string }).id;
    const globexUser = (inGlobex.body.data?.inviteUser as { id: string }).id;
    expect(acmeUser).not.toBe(globexUser);
    const acmeUsers = await platform.graphql(acmeAdmin, '{ users(first: 100) { edges { node { id name } } } }');
    expect(acmeUsers.text).toContain(acmeUser);
    expect(acmeUsers.text).not.toContain(globexUser);
    expect(acmeUsers.text).not.toContain('Globex Person');
    // A second invite of the same address into the same tenant is refused, without the database's words.
    const again = await platform.graphql(acmeAdmin, invite, { input: { name: 'Again', email, roles: ['CUSTOMER'] } });
    expect(again.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(again.text).not.toMatch(/E11000|duplicate key|users|index/);
  });
});

describe('writes aimed at another tenant’s objects', () => {
  it('updates nothing of another tenant: NOT_FOUND, and the object is unchanged for its owner', async () => {
    const id = demoProductId('globex', SHARED_SKU);
    const before = await platform.graphql(globexAdmin, 'query($id: ID!) { product(id: $id) { name price } }', { id });
    const update = await platform.graphql(
      acmeAdmin,
      'mutation($id: ID!) { updateProduct(id: $id, input: { name: "Pwned", price: 1 }) { id name } }',
      {
        id,
      },
    );
    expect(update.body.data).toEqual({ updateProduct: null });
    expect(update.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const after = await platform.graphql(globexAdmin, 'query($id: ID!) { product(id: $id) { name price } }', { id });
    expect(after.body).toEqual({ ...before.body, extensions: after.body.extensions });
  });

  it('deletes no review of another tenant', async () => {
    const globexReviews = await platform.graphql(
      globexAdmin,
      '{ products(first: 20) { edges { node { reviews(first: 10) { edges { node { id } } } } } } }',
    );
    const reviewIds = strings(globexReviews.body.data);
    expect(reviewIds.length).toBeGreaterThan(0);
    const del = await platform.graphql(acmeAdmin, 'mutation($id: ID!) { deleteReview(id: $id) }', { id: reviewIds[0] });
    expect(del.body.data).toEqual({ deleteReview: null });
    expect(del.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const still = await platform.graphql(
      globexAdmin,
      '{ products(first: 20) { edges { node { reviews(first: 10) { edges { node { id } } } } } } }',
    );
    expect(strings(still.body.data)).toEqual(reviewIds);
  });

  it('never changes another tenant’s stock, and a review pointing at a foreign product shows none of it', async () => {
    const id = demoProductId('globex', 'HOODIE-001');
    const stock = 'query($id: ID!) { product(id: $id) { quantity } }';
    const before = await platform.graphql(globexAdmin, stock, { id });
    await platform.graphql(acmeAdmin, 'mutation($id: ID!) { adjustStock(productId: $id, delta: 5) { id quantity } }', {
      id,
    });
    const after = await platform.graphql(globexAdmin, stock, { id });
    expect(after.body.data).toEqual(before.body.data);

    const added = await platform.graphql(
      acmeCustomer,
      'mutation($id: ID!) { addReview(input: { productId: $id, rating: 1, body: "trying to reach globex" }) { id product { id name price } } }',
      { id },
    );
    expectNoGlobex(added);
  });
});

describe('the subgraphs themselves', () => {
  it('refuse a direct request without the gateway’s token: 401 and no data', async () => {
    for (const subgraph of Object.values(platform.subgraphs)) {
      const res = await fetch(subgraph.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-id': 'acme' },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        errors: [{ message: 'Unauthorized', extensions: { code: 'UNAUTHENTICATED' } }],
      });
    }
  });
});

// Last: it stops a subgraph for good.
describe('a subgraph that is down', () => {
  it('leaves the other subgraphs’ data and a coded error, within the timeout, and the gateway keeps serving', async () => {
    await platform.subgraphs.inventory.stop();
    const started = Date.now();
    const result = await platform.graphql(acmeCustomer, '{ products(first: 3) { edges { node { name inStock } } } }');
    expect(Date.now() - started).toBeLessThan(SUBGRAPH_TIMEOUT_MS + 1_000);
    expect(result.status).toBe(200);
    const nodes = (result.body.data?.products as { edges: { node: { name: string; inStock: unknown } }[] }).edges.map(
      (e) => e.node,
    );
    expect(nodes).toHaveLength(3);
    for (const node of nodes) {
      expect(node.name).toEqual(expect.any(String));
      expect(node.inStock).toBeNull();
    }
    expect(result.body.errors?.map((e) => e.extensions?.code)).toContain('DOWNSTREAM_SERVICE_ERROR');
    expect(result.text).not.toMatch(/inventory|127\.0\.0\.1|ECONNREFUSED|stack/i);
    const next = await platform.graphql(acmeCustomer, '{ me { name } }');
    expect(next.body.errors).toBeUndefined();
  });
});
