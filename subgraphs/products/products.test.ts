import { Types } from 'mongoose';
import { countCommands, entitiesQuery, startTestSubgraph, userCaller, type TestSubgraph } from '../kit/testing';
import { products } from './index';

let sg: TestSubgraph;
const staff = (tenant: string) => userCaller(tenant, `staff@${tenant}.test`, ['staff']);
const customer = (tenant: string) => userCaller(tenant, `customer@${tenant}.test`, ['customer']);

const CREATE =
  'mutation Create($input: CreateProductInput!) { createProduct(input: $input) { id sku name price weight } }';
const UPDATE =
  'mutation Update($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id name price } }';
const PRODUCT = 'query Product($id: ID!) { product(id: $id) { id sku name price } }';

async function create(tenant: string, input: Record<string, unknown>): Promise<string> {
  const res = await sg.request(CREATE, { as: staff(tenant), variables: { input } });
  expect(res.body.errors).toBeUndefined();
  return (res.body.data?.createProduct as { id: string }).id;
}

let acmeShirt: string;
let globexShirt: string;

beforeAll(async () => {
  sg = await startTestSubgraph(products);
  acmeShirt = await create('acme', { sku: 'TSHIRT-001', name: 'Classic T-Shirt', price: 1999, weight: 180 });
  globexShirt = await create('globex', { sku: 'TSHIRT-001', name: 'Classic T-Shirt', price: 2499, weight: 200 });
  for (let i = 1; i <= 4; i++)
    await create('acme', { sku: `ACME-${i}`, name: `Acme product ${i}`, price: 100 * i, weight: 10 * i });
});

afterAll(async () => {
  await sg?.close();
});

describe('createProduct', () => {
  test('a duplicate SKU in the tenant is BAD_USER_INPUT without any driver text; the other tenant’s copy is separate', async () => {
    const res = await sg.request(CREATE, {
      as: staff('acme'),
      variables: { input: { sku: 'TSHIRT-001', name: 'Again', price: 1, weight: 1 } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: null,
      errors: [
        expect.objectContaining({
          message: 'A product with this SKU already exists',
          extensions: { code: 'BAD_USER_INPUT' },
        }),
      ],
    });
    expect(res.text).not.toMatch(/E11000|duplicate key|collection|tollgate|index|tenantId/);
    expect(acmeShirt).not.toBe(globexShirt);
  });

  test.each([
    ['a lower-case SKU', { sku: 'tshirt', name: 'X', price: 1, weight: 1 }],
    ['a SKU with a dot', { sku: 'A.B', name: 'X', price: 1, weight: 1 }],
    ['a SKU trying an operator', { sku: '{"$gt":""}', name: 'X', price: 1, weight: 1 }],
    ['a negative price', { sku: 'NEG-1', name: 'X', price: -1, weight: 1 }],
    ['a negative weight', { sku: 'NEG-2', name: 'X', price: 1, weight: -5 }],
    ['a name over 200 characters', { sku: 'LONG-1', name: 'x'.repeat(201), price: 1, weight: 1 }],
    ['an empty name', { sku: 'EMPTY-1', name: '  ', price: 1, weight: 1 }],
  ])('%s is BAD_USER_INPUT', async (_label, input) => {
    const res = await sg.request(CREATE, { as: staff('acme'), variables: { input } });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('customers may not create products', async () => {
    const res = await sg.request(CREATE, {
      as: customer('acme'),
      variables: { input: { sku: 'CUST-1', name: 'X', price: 1, weight: 1 } },
    });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('product and updateProduct', () => {
  test('product(id) is NOT_FOUND alike for a malformed id and another tenant’s product', async () => {
    const answers = await Promise.all(
      ['zzz', '0123', globexShirt].map((id) => sg.request(PRODUCT, { as: customer('acme'), variables: { id } })),
    );
    for (const res of answers) {
      expect(res.body).toEqual({
        data: { product: null },
        errors: [expect.objectContaining({ message: 'Product not found', extensions: { code: 'NOT_FOUND' } })],
      });
    }
    const own = await sg.request(PRODUCT, { as: customer('globex'), variables: { id: globexShirt } });
    expect(own.body.data?.product).toEqual({
      id: globexShirt,
      sku: 'TSHIRT-001',
      name: 'Classic T-Shirt',
      price: 2499,
    });
  });

  test('updateProduct of another tenant’s product is null with NOT_FOUND and changes nothing', async () => {
    const res = await sg.request(UPDATE, {
      as: staff('acme'),
      variables: { id: globexShirt, input: { name: 'Hijacked', price: 1 } },
    });
    expect(res.body).toEqual({
      data: { updateProduct: null },
      errors: [expect.objectContaining({ message: 'Product not found', extensions: { code: 'NOT_FOUND' } })],
    });
    const after = await sg.request(PRODUCT, { as: customer('globex'), variables: { id: globexShirt } });
    expect(after.body.data?.product).toMatchObject({ name: 'Classic T-Shirt', price: 2499 });
  });

  test('updateProduct changes only the given fields of the caller’s product', async () => {
    const res = await sg.request(UPDATE, {
      as: staff('acme'),
      variables: { id: acmeShirt, input: { price: 1899, name: null } },
    });
    expect(res.body.data?.updateProduct).toEqual({ id: acmeShirt, name: 'Classic T-Shirt', price: 1899 });
    const invalid = await sg.request(UPDATE, {
      as: staff('acme'),
      variables: { id: acmeShirt, input: { weight: -1 } },
    });
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const malformed = await sg.request(UPDATE, { as: staff('acme'), variables: { id: 'nope', input: { price: 1 } } });
    expect(malformed.body.errors?.[0]).toMatchObject({
      message: 'Product not found',
      extensions: { code: 'NOT_FOUND' },
    });
  });
});

describe('products', () => {
  test('pages oldest first with hasNextPage from one extra document', async () => {
    const query =
      'query Page($after: String) { products(first: 2, after: $after) { edges { node { sku } } pageInfo { hasNextPage endCursor } } }';
    const pages: string[][] = [];
    let after: string | null = null;
    for (;;) {
      const res = await sg.request(query, { as: customer('acme'), variables: { after } });
      const page = res.body.data?.products as {
        edges: { node: { sku: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
      pages.push(page.edges.map((edge) => edge.node.sku));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toEqual([['TSHIRT-001', 'ACME-1'], ['ACME-2', 'ACME-3'], ['ACME-4']]);
  });

  test('costPrice is for staff and admins only', async () => {
    const query = 'query Product($id: ID!) { product(id: $id) { costPrice } }';
    expect((await sg.request(query, { as: staff('acme'), variables: { id: acmeShirt } })).body).toEqual({
      data: { product: { costPrice: null } },
    });
    const res = await sg.request(query, { as: customer('acme'), variables: { id: acmeShirt } });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('_entities', () => {
  test('another tenant’s product resolves to null', async () => {
    const representations = [acmeShirt, globexShirt].map((id) => ({ __typename: 'Product', id }));
    const res = await sg.request(entitiesQuery('... on Product { id price weight }'), {
      as: customer('acme'),
      variables: { representations },
    });
    expect(res.body.data?._entities).toEqual([{ id: acmeShirt, price: 1899, weight: 180 }, null]);
  });

  test('ten representations cost one find', async () => {
    const list = await sg.request('{ products(first: 10) { edges { node { id } } } }', { as: customer('acme') });
    const existing = (list.body.data?.products as { edges: { node: { id: string } }[] }).edges.map(
      (edge) => edge.node.id,
    );
    const ids = [
      ...existing,
      ...Array.from({ length: 10 - existing.length }, () => new Types.ObjectId().toHexString()),
    ];
    const representations = ids.map((id) => ({ __typename: 'Product', id }));
    const { result, commands } = await countCommands(sg, () =>
      sg.request(entitiesQuery('... on Product { id sku }'), { as: customer('acme'), variables: { representations } }),
    );
    const entities = result.body.data?._entities as unknown[];
    expect(entities).toHaveLength(10);
    expect(entities.filter((entity) => entity !== null)).toHaveLength(existing.length);
    expect(commands).toEqual(['find']);
  });
});
