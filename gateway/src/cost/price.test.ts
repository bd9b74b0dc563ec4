import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCostEstimator, createCostModel } from './estimate';
import { MAX_PRICE_TOKENS, priceDocument, type PriceOptions } from './price';
import { buildApiSchema } from '../schema/api-schema';

const SUPERGRAPH = readFileSync(join(__dirname, '..', '..', '..', 'schema', 'supergraph.graphql'), 'utf8');
const schema = buildApiSchema(SUPERGRAPH);
const estimator = createCostEstimator({ model: createCostModel(SUPERGRAPH) });
const price = (options: Omit<PriceOptions, 'schema' | 'estimator'>) => priceDocument({ schema, estimator, ...options });

const PAGE = 'query Page($n: Int!) { products(first: $n) { edges { node { id name } } } }';

describe('pricing a document without executing it', () => {
  it('prices a connection by its slicing variable: the connection 1, each of n edges 1 and its node 1', () => {
    expect(price({ source: PAGE, variables: { n: 5 } })).toEqual({
      ok: true,
      operationName: 'Page',
      operationType: 'query',
      cost: 1 + 5 * 2,
    });
    expect(price({ source: PAGE, variables: { n: 50 }, maximum: 100 })).toMatchObject({
      cost: 1 + 50 * 2,
      maximum: 100,
      overMaximum: true,
    });
    expect(price({ source: PAGE, variables: { n: 49 }, maximum: 100 })).toMatchObject({ cost: 99, overMaximum: false });
  });

  it("floors an operation at the cost stage's minimum, and adds the mutation weight", () => {
    expect(price({ source: '{ __typename }' })).toMatchObject({ ok: true, cost: 1, operationName: null });
    expect(
      price({
        source: 'mutation Adjust($id: ID!) { adjustStock(productId: $id, delta: 1) { id quantity } }',
        variables: { id: 'p1' },
      }),
    ).toMatchObject({ ok: true, operationType: 'mutation', cost: 10 + 1 });
  });

  it('picks the named operation of several, and asks for a name otherwise, listing them', () => {
    const source = `${PAGE}\nquery Me { me { id } }`;
    expect(price({ source, operationName: 'Me' })).toMatchObject({ ok: true, operationName: 'Me', cost: 1 });
    expect(price({ source, variables: { n: 1 } })).toEqual({
      ok: false,
      kind: 'operation',
      problems: ['the document has 2 operations (Page, Me): name the one to price'],
    });
    expect(price({ source, operationName: 'Nope' })).toEqual({
      ok: false,
      kind: 'operation',
      problems: ['the document has no operation Nope; its operations are Page, Me'],
    });
    expect(price({ source: 'fragment F on Product { id }' })).toMatchObject({ ok: false, kind: 'validation' });
  });

  it('reports a syntax error, validation errors and bad variables instead of a price', () => {
    expect(price({ source: '{ products(first: 1) { ' })).toMatchObject({ ok: false, kind: 'syntax' });
    expect(price({ source: '{ products(first: 1) { edges { node { costPrice } } } }' })).toEqual({
      ok: false,
      kind: 'validation',
      problems: ['Cannot query field "costPrice" on type "Product". Did you mean "price"?'],
    });
    expect(price({ source: PAGE })).toEqual({
      ok: false,
      kind: 'variables',
      problems: ['Variable "$n" of required type "Int!" was not provided.'],
    });
    expect(price({ source: PAGE, variables: { n: 'many' } })).toMatchObject({ ok: false, kind: 'variables' });
  });

  it('bounds the work: a document past the token limit is a syntax problem, a fragment bomb too large', () => {
    const long = `{ ${'__typename '.repeat(MAX_PRICE_TOKENS)}}`;
    expect(price({ source: long })).toMatchObject({ ok: false, kind: 'syntax' });
    // Each level spreads the next twice: 2^20 selections once expanded, in a document of a few kilobytes.
    const levels = 20;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i + 1 < levels
        ? `fragment F${i} on Product { reviews(first: 1) { edges { node { product { ...F${i + 1} } } } } a${i}: reviews(first: 1) { edges { node { product { ...F${i + 1} } } } } }`
        : `fragment F${i} on Product { id }`,
    );
    const bomb = `query Bomb { product(id: "p1") { ...F0 } }\n${fragments.join('\n')}`;
    const result = price({ source: bomb });
    expect(result).toEqual({
      ok: false,
      kind: 'too-large',
      problems: [expect.stringMatching(/^the operation expands to more than \d+ selections$/)],
    });
  });
});
