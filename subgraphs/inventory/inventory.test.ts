import { Types } from 'mongoose';
import { countCommands, entitiesQuery, startTestSubgraph, userCaller, type TestSubgraph } from '../kit/testing';
import { inventory } from './index';
import { shippingEstimate } from './resolvers';

let sg: TestSubgraph;
const staff = (tenant: string) => userCaller(tenant, `staff@${tenant}.test`, ['staff']);
const customer = (tenant: string) => userCaller(tenant, `customer@${tenant}.test`, ['customer']);

const ADJUST =
  'mutation Adjust($productId: ID!, $delta: Int!) { adjustStock(productId: $productId, delta: $delta) { id quantity inStock } }';
const STOCK = entitiesQuery('... on Product { id quantity inStock }');

const newId = () => new Types.ObjectId().toHexString();
const adjust = (tenant: string, productId: string, delta: number) =>
  sg.request(ADJUST, { as: staff(tenant), variables: { productId, delta } });
const stockOf = async (tenant: string, productId: string) =>
  (
    (
      await sg.request(STOCK, {
        as: customer(tenant),
        variables: { representations: [{ __typename: 'Product', id: productId }] },
      })
    ).body.data?._entities as { quantity: number; inStock: boolean }[] | undefined
  )?.[0];

beforeAll(async () => {
  sg = await startTestSubgraph(inventory);
});
afterAll(async () => {
  await sg?.close();
});

describe('adjustStock', () => {
  test('an increase creates the stock document; decreases apply down to zero and never below', async () => {
    const product = newId();
    expect((await adjust('acme', product, 5)).body.data?.adjustStock).toEqual({
      id: product,
      quantity: 5,
      inStock: true,
    });
    expect((await adjust('acme', product, -5)).body.data?.adjustStock).toEqual({
      id: product,
      quantity: 0,
      inStock: false,
    });
    const below = await adjust('acme', product, -1);
    expect(below.body).toEqual({
      data: { adjustStock: null },
      errors: [
        expect.objectContaining({ message: 'Stock cannot go below zero', extensions: { code: 'BAD_USER_INPUT' } }),
      ],
    });
    expect(await stockOf('acme', product)).toMatchObject({ quantity: 0 });
  });

  test('a decrease of a product without stock is refused and creates nothing', async () => {
    const product = newId();
    expect((await adjust('acme', product, -3)).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await sg.connection.db!.collection('stock').countDocuments({ productId: new Types.ObjectId(product) })).toBe(
      0,
    );
    expect(await stockOf('acme', product)).toEqual({ id: product, quantity: 0, inStock: false });
  });

  test('concurrent decreases never oversell', async () => {
    const product = newId();
    await adjust('acme', product, 10);
    const results = await Promise.all(Array.from({ length: 25 }, () => adjust('acme', product, -1)));
    expect(results.filter((res) => res.body.errors === undefined)).toHaveLength(10);
    expect(results.filter((res) => res.body.errors?.[0]?.extensions?.code === 'BAD_USER_INPUT')).toHaveLength(15);
    expect(await stockOf('acme', product)).toMatchObject({ quantity: 0 });
  });

  test('concurrent first increases all count', async () => {
    const product = newId();
    const results = await Promise.all(Array.from({ length: 10 }, () => adjust('acme', product, 2)));
    expect(results.every((res) => res.body.errors === undefined)).toBe(true);
    expect(await stockOf('acme', product)).toMatchObject({ quantity: 20 });
  });

  test.each([
    ['a delta over 10000', newId(), 10_001, 'BAD_USER_INPUT'],
    ['a delta under -10000', newId(), -10_001, 'BAD_USER_INPUT'],
    ['a malformed product id', 'not-an-id', 1, 'NOT_FOUND'],
  ])('%s is refused', async (_label, productId, delta, code) => {
    const res = await adjust('acme', productId, delta);
    expect(res.body.errors?.[0]?.extensions?.code).toBe(code);
  });

  test('customers may not adjust stock', async () => {
    const res = await sg.request(ADJUST, { as: customer('acme'), variables: { productId: newId(), delta: 1 } });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('each tenant has its own stock for the same product id', async () => {
    const product = newId();
    await adjust('acme', product, 7);
    await adjust('globex', product, 1);
    await adjust('globex', product, -1);
    expect(await stockOf('acme', product)).toMatchObject({ quantity: 7, inStock: true });
    expect(await stockOf('globex', product)).toMatchObject({ quantity: 0, inStock: false });
    expect((await adjust('globex', product, -1)).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await stockOf('acme', product)).toMatchObject({ quantity: 7 });
  });
});

describe('Product fields', () => {
  test('shippingEstimate uses the price and weight the gateway supplies through @requires', async () => {
    const representations = [
      { __typename: 'Product', id: newId(), price: 1999, weight: 350 },
      { __typename: 'Product', id: newId(), price: 12_900, weight: 640 },
    ];
    const res = await sg.request(entitiesQuery('... on Product { shippingEstimate }'), {
      as: customer('acme'),
      variables: { representations },
    });
    expect(res.body.data?._entities).toEqual([{ shippingEstimate: 599 }, { shippingEstimate: 0 }]);
    expect(shippingEstimate(1999, 350)).toBe(599);
    expect(shippingEstimate(500, 0)).toBe(499);
  });

  test('ten representations cost one find, keyed by product id', async () => {
    const products = Array.from({ length: 10 }, newId);
    for (const product of products.slice(0, 4)) await adjust('acme', product, 3);
    const { result, commands } = await countCommands(sg, () =>
      sg.request(STOCK, {
        as: customer('acme'),
        variables: { representations: products.map((id) => ({ __typename: 'Product', id })) },
      }),
    );
    expect((result.body.data?._entities as { quantity: number }[]).map((entity) => entity.quantity)).toEqual([
      3, 3, 3, 3, 0, 0, 0, 0, 0, 0,
    ]);
    expect(commands).toEqual(['find']);
  });
});
