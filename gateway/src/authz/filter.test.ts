import { buildSchema, print } from 'graphql';
import { allow, deny } from 'graphql-shield';
import type { Caller } from '../request';
import { fieldFilterFor, nullDeniedPositions, type FieldFilter } from './filter';
import { AuthorizationGate, queryHashOf, type PathStep, type RuleTree } from './gate';
import { introspectionRule, ruleTree } from './rules';
import { apiSchema, gateRequest, partner, person } from './test-fixtures';

const policy = new AuthorizationGate({ schema: apiSchema, rules: ruleTree, introspectionRule });

async function filterFor(
  gate: AuthorizationGate,
  query: string,
  caller: Caller,
  variables?: Record<string, unknown>,
): Promise<FieldFilter | undefined> {
  const { analysis, denials } = await gate.evaluate(gateRequest(query, caller, { variables }));
  expect(denials.length).toBeGreaterThan(0);
  return fieldFilterFor(analysis, denials);
}

/** Compact form of a printed document, for comparing with a one-line expectation. */
function compact(filter: FieldFilter | undefined): string {
  if (!filter) throw new Error('expected a filter');
  return print(filter.document).replace(/\s+/g, ' ').trim();
}

const keys = (filter: FieldFilter | undefined) => filter?.nulls.map((path) => path.map((step) => step.key).join('.'));

describe('the filtered document', () => {
  it('leaves out the denied root field, under a hash of its own', async () => {
    const query = 'query Mine { me { name } user(id: "u2") { name } }';
    const filter = await filterFor(policy, query, person('customer'));
    expect(compact(filter)).toBe('query Mine { me { name } }');
    expect(filter?.queryHash).toBe(queryHashOf(print(filter!.document)));
    expect(filter?.queryHash).not.toBe(queryHashOf(query));
    expect(keys(filter)).toEqual(['user']);
    expect(filter?.errors).toEqual([
      {
        message: 'Not authorized to access Query.user',
        path: ['user'],
        extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' },
      },
    ]);
  });

  it('leaves out a denied nested field and keeps its siblings', async () => {
    const filter = await filterFor(policy, '{ product(id: "1") { name quantity } }', partner('catalog:read'));
    expect(compact(filter)).toBe('{ product(id: "1") { name } }');
    expect(keys(filter)).toEqual(['product.quantity']);
    expect(filter?.errors.map((e) => e.path)).toEqual([['product', 'quantity']]);
  });

  it('takes out a parent whose selection is left empty, and nulls the parent', async () => {
    const query = '{ product(id: "1") { quantity inStock } products(first: 2) { edges { node { name } } } }';
    const filter = await filterFor(policy, query, partner('catalog:read'));
    expect(compact(filter)).toBe('{ products(first: 2) { edges { node { name } } } }');
    expect(keys(filter)).toEqual(['product']);
    expect(filter?.errors.map((e) => e.path)).toEqual([
      ['product', 'quantity'],
      ['product', 'inStock'],
    ]);
  });

  it('marks list levels with @ in paths, and names no field below a denied one', async () => {
    const query = '{ me { name } users(first: 5) { edges { node { email reviews(first: 2) { edges { cursor } } } } } }';
    const filter = await filterFor(policy, query, person('customer'));
    expect(compact(filter)).toBe('{ me { name } }');
    expect(filter?.errors.map((e) => e.path)).toEqual([['users']]);

    const productStock = '{ products(first: 5) { edges { node { name quantity } } } }';
    const nested = await filterFor(policy, productStock, partner('catalog:read'));
    expect(nested?.errors.map((e) => e.path)).toEqual([['products', 'edges', '@', 'node', 'quantity']]);
    expect(nested?.nulls).toEqual([
      [
        { key: 'products', nullable: false },
        { key: 'edges', nullable: false },
        { key: '@', nullable: false },
        { key: 'node', nullable: false },
        { key: 'quantity', nullable: true },
      ],
    ]);
  });

  it('rewrites fragments once, drops the ones left empty, and reports every position', async () => {
    const noEmail = new AuthorizationGate({
      schema: apiSchema,
      rules: { Query: allow, User: { id: allow, name: allow, email: deny } },
      introspectionRule: deny,
    });
    const query = `
      query { me { ...Contact } user(id: "1") { ...Contact ...Named } }
      fragment Contact on User { email }
      fragment Named on User { name }
    `;
    const filter = await filterFor(noEmail, query, person('admin'));
    expect(compact(filter)).toBe('{ user(id: "1") { ...Named } } fragment Named on User { name }');
    expect(keys(filter)).toEqual(['me', 'user.email']);
    expect(filter?.errors.map((e) => e.path)).toEqual([
      ['me', 'email'],
      ['user', 'email'],
    ]);
  });

  it('has nothing to run when every root field is denied', async () => {
    expect(await filterFor(policy, '{ users(first: 1) { edges { cursor } } }', person('customer'))).toBeUndefined();
    expect(await filterFor(policy, '{ product(id: "1") { quantity } }', partner('catalog:read'))).toBeUndefined();
  });

  it('is specific to the @skip/@include values, and drops what they leave out', async () => {
    const query = 'query ($brief: Boolean!) { me { name email @skip(if: $brief) } user(id: "1") { name } }';
    const brief = await filterFor(policy, query, person('customer'), { brief: true });
    const full = await filterFor(policy, query, person('customer'), { brief: false });
    expect(compact(brief)).toBe('query ($brief: Boolean!) { me { name } }');
    expect(compact(full)).toBe('query ($brief: Boolean!) { me { name email @skip(if: $brief) } }');
    expect(brief?.queryHash).not.toBe(full?.queryHash);
  });

  it('is built once per analysis and set of denied fields', async () => {
    const query = '{ me { name } user(id: "u2") { name } }';
    const first = await filterFor(policy, query, person('customer'));
    const again = await filterFor(policy, query, person('developer'));
    expect(again).toBe(first);
    const more = '{ me { name } user(id: "u2") { name } users(first: 1) { edges { cursor } } }';
    const other = await filterFor(policy, more, person('customer'));
    expect(other).not.toBe(first);
  });

  describe('under abstract types', () => {
    const petSchema = buildSchema(`
      interface Node { id: ID! name: String }
      type Cat implements Node { id: ID! name: String }
      type Dog implements Node { id: ID! name: String }
      union Pet = Cat | Dog
      type Query { node(id: ID!): Node pets: [Pet] cats: [Cat] }
    `);
    const rules: RuleTree = { Query: allow, Cat: allow, Dog: { id: allow, name: deny } };
    const pets = new AuthorizationGate({ schema: petSchema, rules, introspectionRule: deny });

    it('filters a field denied for one implementation everywhere it was selected on the interface', async () => {
      const filter = await filterFor(pets, '{ node(id: "1") { id name } cats { id } }', person());
      expect(compact(filter)).toBe('{ node(id: "1") { id } cats { id } }');
      expect(keys(filter)).toEqual(['node.name']);
    });

    it('cannot filter under a type condition without __typename, so gives no filter', async () => {
      const query = '{ pets { ... on Dog { name } ... on Cat { id } } cats { id } }';
      expect(await filterFor(pets, query, person())).toBeUndefined();
    });
  });
});

describe('nulling the removed positions', () => {
  const step = (key: string, nullable: boolean): PathStep => ({ key, nullable });

  it('puts null where a nullable field was removed', () => {
    const data = { product: { name: 'Mug' } };
    expect(nullDeniedPositions(data, [[step('product', true), step('quantity', true)]])).toEqual({
      product: { name: 'Mug', quantity: null },
    });
  });

  it('propagates null from a non-null field to the nearest nullable parent or list item', () => {
    const toParent = { me: { name: 'Ann' } };
    expect(nullDeniedPositions(toParent, [[step('me', true), step('email', false)]])).toEqual({ me: null });

    const toItems = { reviews: [{ id: '1' }, null, { id: '3' }] };
    const path = [step('reviews', false), step('@', true), step('body', false)];
    expect(nullDeniedPositions(toItems, [path])).toEqual({ reviews: [null, null, null] });
  });

  it('nulls all the data when only non-null fields lead to the root', () => {
    const data = { products: { edges: [{ node: { name: 'Mug' } }] } };
    const path = [
      step('products', false),
      step('edges', false),
      step('@', false),
      step('node', false),
      step('sku', false),
    ];
    expect(nullDeniedPositions(data, [path])).toBeNull();
  });

  it('leaves a field another selection of the same key answered, and positions already null', () => {
    const data = { a: { quantity: 3 }, b: null };
    expect(
      nullDeniedPositions(data, [
        [step('a', true), step('quantity', true)],
        [step('b', true), step('quantity', true)],
      ]),
    ).toEqual({ a: { quantity: 3 }, b: null });
  });

  it('writes a `__proto__` response key as data, never as the prototype', () => {
    const data: Record<string, unknown> = { product: {} };
    nullDeniedPositions(data, [[step('product', true), step('__proto__', true)]]);
    const product = data.product as Record<string, unknown>;
    expect(Object.getPrototypeOf(product)).toBe(Object.prototype);
    expect(Object.hasOwn(product, '__proto__')).toBe(true);
    expect(JSON.stringify(data)).toBe('{"product":{"__proto__":null}}');
  });
});
