import { readFileSync } from 'node:fs';
import { getOperationAST, parse } from 'graphql';
import { buildApiSchema } from '../schema/api-schema';
import { DEFAULT_SUPERGRAPH_PATH } from '../config';
import { TOLLGATE_REFERENCES, type ReferencePolicy } from './declarations';
import { collectReferences, planReferences } from './plan';

const supergraph = readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8');
const schema = buildApiSchema(supergraph);
const plan = planReferences(TOLLGATE_REFERENCES, schema, supergraph);

function collect(query: string, variables: Record<string, unknown> = {}) {
  const document = parse(query);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  return collectReferences(plan, document, operation, variables);
}

const P = 'aaaaaaaaaaaaaaaaaaaaaaaa';

describe('planReferences', () => {
  it('accepts Tollgate’s policy against Tollgate’s supergraph', () => {
    expect(plan.owners).toEqual(
      new Map([
        ['Product', 'products'],
        ['User', 'accounts'],
      ]),
    );
    expect([...(plan.fields.get('mutation')?.keys() ?? [])]).toEqual(['adjustStock', 'addReview']);
  });

  it.each<[string, ReferencePolicy, string]>([
    [
      'an unknown field',
      { owners: { Product: 'products' }, arguments: { 'Mutation.adjustStok.productId': 'Product' } },
      'no such field',
    ],
    [
      'an unknown argument',
      { owners: { Product: 'products' }, arguments: { 'Mutation.adjustStock.product': 'Product' } },
      'no such argument',
    ],
    [
      'an unknown input field',
      { owners: { Product: 'products' }, arguments: { 'Mutation.addReview.input.product': 'Product' } },
      'no input field product',
    ],
    [
      'an argument that is not an ID',
      { owners: { Product: 'products' }, arguments: { 'Mutation.adjustStock.delta': 'Product' } },
      'not an ID',
    ],
    [
      'a type that is not a root',
      { owners: { Product: 'products' }, arguments: { 'Product.reviews.first': 'Product' } },
      'not a root operation type',
    ],
    [
      'an entity without owner',
      { owners: {}, arguments: { 'Mutation.adjustStock.productId': 'Product' } },
      'Product has no owner',
    ],
    [
      'an owner that does not resolve the entity',
      { owners: { Product: 'accounts' }, arguments: {} },
      'accounts does not resolve it',
    ],
    ['an owner of no type', { owners: { Widget: 'products' }, arguments: {} }, 'no such object type'],
  ])('refuses %s at startup', (_label, policy, message) => {
    expect(() => planReferences(policy, schema, supergraph)).toThrow(message);
  });
});

describe('collectReferences', () => {
  it('reads literals, variables, input objects, aliases and fragments on the root', () => {
    const uses = collect(
      `mutation($id: ID!, $input: AddReviewInput!) {
        a: adjustStock(productId: "${P}", delta: 1) { id }
        adjustStock(productId: $id, delta: 1) { id }
        addReview(input: $input) { id }
        ... on Mutation { b: addReview(input: { productId: "lit", rating: 1, body: "x" }) { id } }
        ...More
      }
      fragment More on Mutation { c: adjustStock(productId: 42, delta: 1) { id } }`,
      { id: 'var', input: { productId: 'nested', rating: 1, body: 'x' } },
    );
    expect(uses).toEqual([
      { responseKey: 'a', entity: 'Product', id: P },
      { responseKey: 'adjustStock', entity: 'Product', id: 'var' },
      { responseKey: 'addReview', entity: 'Product', id: 'nested' },
      { responseKey: 'b', entity: 'Product', id: 'lit' },
      { responseKey: 'c', entity: 'Product', id: '42' },
    ]);
  });

  it('reads integer variables as the executor coerces an ID, and a default when the variable is absent', () => {
    expect(collect('mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id } }', { id: 7 })).toEqual([
      { responseKey: 'adjustStock', entity: 'Product', id: '7' },
    ]);
    expect(collect('mutation($id: ID = "dflt") { adjustStock(productId: $id, delta: 1) { id } }')).toEqual([
      { responseKey: 'adjustStock', entity: 'Product', id: 'dflt' },
    ]);
    expect(
      collect(
        'mutation($input: AddReviewInput = { productId: "d2", rating: 1, body: "x" }) { addReview(input: $input) { id } }',
      ),
    ).toEqual([{ responseKey: 'addReview', entity: 'Product', id: 'd2' }]);
  });

  it('checks fields under @skip too: whatever the operation might write is checked', () => {
    expect(collect(`mutation { adjustStock(productId: "${P}", delta: 1) @skip(if: true) { id } }`)).toHaveLength(1);
  });

  it('leaves values the executor refuses to coerce (floats, objects, inherited keys) and queries alone', () => {
    expect(collect('mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id } }', { id: 1.5 })).toEqual([]);
    expect(
      collect('mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id } }', { id: { $ne: null } }),
    ).toEqual([]);
    expect(
      collect('mutation($input: AddReviewInput!) { addReview(input: $input) { id } }', {
        input: Object.create({ productId: P }),
      }),
    ).toEqual([]);
    expect(collect(`{ product(id: "${P}") { id } }`)).toEqual([]);
  });
});
