/**
 * Reference integrity across subgraphs, end to end on the real platform (gateway, the four subgraphs, FerretDB,
 * Redis): a mutation that names another subgraph's entity — stock for a product, a review of a product — is refused
 * with NOT_FOUND unless the id is an existing entity of the caller's tenant, and then nothing is written anywhere;
 * a valid id is written exactly once. And whatever a subgraph returns, no client sees the gateway's internal
 * `valueCompletion`: a completion failure is a coded error at its path.
 */
import { Types } from 'mongoose';
import { demoProductId, demoUserId } from '../../demo/subgraph-data';
import { startRealPlatform, type GraphQLResult, type RealPlatform } from './platform';

let platform: RealPlatform;
let acmeStaff: string;
let acmeCustomer: string;

const ADJUST = 'mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { id quantity } }';
/** With a field the products subgraph owns: what used to come back as a bare `adjustStock: null`. */
const ADJUST_WITH_NAME = 'mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id name quantity } }';
const ADD_REVIEW =
  'mutation($id: ID!) { addReview(input: { productId: $id, rating: 4, body: "reference test" }) { id product { id name } } }';

const acmeProduct = () => demoProductId('acme', 'MUG-001');
const FOREIGN_IDS: [string, () => string][] = [
  ['another tenant’s product', () => demoProductId('globex', 'LAMP-100')],
  ['a user id of the tenant', () => demoUserId('acme', 'customer')],
  ['an unknown id', () => 'ffffffffffffffffffffffff'],
  ['a fresh ObjectId', () => new Types.ObjectId().toHexString()],
  ['an id that is no ObjectId', () => 'not-an-id'],
];

/** Every document of both tenants in the databases the two mutations write to. */
async function counts(): Promise<{ stock: number; reviews: number }> {
  const [stock, reviews] = await Promise.all([
    platform.subgraphs.inventory.connection.db!.collection('stock').countDocuments({}),
    platform.subgraphs.reviews.connection.db!.collection('reviews').countDocuments({}),
  ]);
  return { stock, reviews };
}

async function quantityOf(id: string): Promise<number> {
  const result = await platform.graphql(acmeStaff, 'query($id: ID!) { product(id: $id) { quantity } }', { id });
  return (result.body.data?.product as { quantity: number }).quantity;
}

function expectNotFound(result: GraphQLResult, path: string): void {
  expect(result.status).toBe(404);
  expect(result.body.data).toBeUndefined();
  expect(result.body.errors).toEqual([
    { message: 'Product not found', path: [path], extensions: { code: 'NOT_FOUND' } },
  ]);
  expect(result.text).not.toContain('valueCompletion');
  // Refused before execution: the reservation is given back.
  expect(result.body.extensions?.cost).toMatchObject({ actualQueryCost: 0 });
}

beforeAll(async () => {
  platform = await startRealPlatform();
  acmeStaff = await platform.token('acme', 'staff');
  acmeCustomer = await platform.token('acme', 'customer');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('a reference that is not an entity of the caller’s tenant', () => {
  it.each(FOREIGN_IDS)('adjustStock with %s: NOT_FOUND, no stock written', async (_label, idOf) => {
    const before = await counts();
    expectNotFound(await platform.graphql(acmeStaff, ADJUST, { id: idOf(), delta: 5 }), 'adjustStock');
    expectNotFound(await platform.graphql(acmeStaff, ADJUST_WITH_NAME, { id: idOf() }), 'adjustStock');
    expect(await counts()).toEqual(before);
  });

  it.each(FOREIGN_IDS)('addReview with %s: NOT_FOUND, no review written', async (_label, idOf) => {
    const before = await counts();
    expectNotFound(await platform.graphql(acmeCustomer, ADD_REVIEW, { id: idOf() }), 'addReview');
    expect(await counts()).toEqual(before);
  });

  it('refuses the whole operation when one of several references is foreign, at that field’s path', async () => {
    const before = await counts();
    const quantity = await quantityOf(acmeProduct());
    const result = await platform.graphql(
      acmeStaff,
      'mutation($ok: ID!, $bad: ID!) { first: adjustStock(productId: $ok, delta: 1) { id } second: adjustStock(productId: $bad, delta: 1) { id } }',
      { ok: acmeProduct(), bad: demoProductId('globex', 'LAMP-100') },
    );
    expectNotFound(result, 'second');
    expect(await counts()).toEqual(before);
    expect(await quantityOf(acmeProduct())).toBe(quantity);
  });

  it('checks literals, input-object variables and integer ids as the executor will read them', async () => {
    const before = await counts();
    const foreign = demoProductId('globex', 'LAMP-100');
    expectNotFound(
      await platform.graphql(acmeStaff, `mutation { adjustStock(productId: "${foreign}", delta: 1) { id } }`),
      'adjustStock',
    );
    expectNotFound(
      await platform.graphql(acmeCustomer, 'mutation($input: AddReviewInput!) { addReview(input: $input) { id } }', {
        input: { productId: foreign, rating: 5, body: 'via variables' },
      }),
      'addReview',
    );
    expectNotFound(await platform.graphql(acmeStaff, ADJUST, { id: 12345, delta: 1 }), 'adjustStock');
    expect(await counts()).toEqual(before);
  });
});

describe('a reference to an entity of the caller’s tenant', () => {
  it('adjustStock applies exactly once and answers the product', async () => {
    const mug = acmeProduct();
    const cap = demoProductId('acme', 'CAP-001');
    const [mugBefore, capBefore] = [await quantityOf(mug), await quantityOf(cap)];
    const before = await counts();
    const result = await platform.graphql(
      acmeStaff,
      'mutation($a: ID!, $b: ID!) { a: adjustStock(productId: $a, delta: 2) { id name quantity } b: adjustStock(productId: $b, delta: 3) { id quantity } }',
      { a: mug, b: cap },
    );
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data).toEqual({
      a: { id: mug, name: 'Enamel Mug', quantity: mugBefore + 2 },
      b: { id: cap, quantity: capBefore + 3 },
    });
    expect(await counts()).toEqual(before);
    expect([await quantityOf(mug), await quantityOf(cap)]).toEqual([mugBefore + 2, capBefore + 3]);
  });

  it('addReview stores exactly one review and answers it with its product', async () => {
    const before = await counts();
    const result = await platform.graphql(acmeCustomer, ADD_REVIEW, { id: acmeProduct() });
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.addReview).toEqual({
      id: expect.any(String),
      product: { id: acmeProduct(), name: 'Enamel Mug' },
    });
    expect(await counts()).toEqual({ ...before, reviews: before.reviews + 1 });
  });
});

describe('completion failures', () => {
  it('become DOWNSTREAM_SERVICE_ERROR at their path, and no client response carries valueCompletion', async () => {
    // A review whose product the products subgraph does not know: written before references were checked, or
    // the product deleted since. Product.name is non-null, so the gateway cannot complete the review.
    const orphan = new Types.ObjectId();
    await platform.subgraphs.reviews.connection.db!.collection('reviews').insertOne({
      tenantId: 'acme',
      productId: new Types.ObjectId(),
      authorId: new Types.ObjectId(demoUserId('acme', 'customer')),
      rating: 1,
      body: 'orphaned review',
      _id: orphan,
    });
    const result = await platform.graphql(
      acmeCustomer,
      '{ me { id reviews(first: 50) { edges { node { id product { name } } } } } }',
    );
    expect(result.status).toBe(200);
    expect(result.text).not.toContain('valueCompletion');
    expect(result.text).not.toContain('INVALID_GRAPHQL');
    expect(result.body.data).toEqual({ me: null });
    const errors = result.body.errors ?? [];
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toEqual({
        message: 'A downstream service failed',
        path: expect.any(Array),
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      });
      expect(error.path?.slice(0, 2)).toEqual(['me', 'reviews']);
    }
    expect(Object.keys(result.body.extensions ?? {})).toEqual(['cost']);
  });
});

// Last: it stops the products subgraph for good.
describe('an owner that cannot answer', () => {
  it('refuses the mutation with DOWNSTREAM_SERVICE_ERROR and writes nothing: an unchecked reference never passes', async () => {
    await platform.subgraphs.products.stop();
    const before = await counts();
    const result = await platform.graphql(acmeStaff, ADJUST, { id: acmeProduct(), delta: 1 });
    expect(result.status).toBe(502);
    expect(result.body.errors).toEqual([
      { message: 'A downstream service failed', extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } },
    ]);
    expect(await counts()).toEqual(before);
  });
});
