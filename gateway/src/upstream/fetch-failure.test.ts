import {
  FETCH_FAILURE,
  MAX_FAILURE_PATHS,
  failedFetchResult,
  isFetchFailure,
  type FetchFailure,
} from './fetch-failure';

const TIMEOUT: FetchFailure = { code: 'SUBGRAPH_TIMEOUT', message: 'A downstream service timed out' };
const pathsOf = (query: string, variables?: Record<string, unknown>) =>
  failedFetchResult(query, variables, TIMEOUT).errors.map((e) => e.path);

describe('failedFetchResult', () => {
  it('answers data null and one marked error per root field, by alias, __typename left out', () => {
    const result = failedFetchResult(
      'query Q__accounts__0{__typename me{id} first:products(first:1){id} whoami{tenant}}',
      {},
      TIMEOUT,
    );
    expect(result.data).toBeNull();
    expect(result.errors.map((e) => e.path)).toEqual([['me'], ['first'], ['whoami']]);
    for (const error of result.errors) {
      expect(error.message).toBe('A downstream service timed out');
      expect(error.extensions.code).toBe('SUBGRAPH_TIMEOUT');
      expect(isFetchFailure(error.extensions)).toBe(true);
    }
  });

  it('names a mutation field', () => {
    expect(pathsOf('mutation M__inventory__0($id:ID!){adjustStock(productId:$id,delta:1){id}}')).toEqual([
      ['adjustStock'],
    ]);
  });

  it('reads root fields inside fragments', () => {
    expect(pathsOf('query{...on Query{a} ...F} fragment F on Query{b a}')).toEqual([['a'], ['b']]);
  });

  it("names each entity's fields, as selected for its __typename", () => {
    const query =
      'query($representations:[_Any!]!){_entities(representations:$representations){__typename ...on Product{inStock qty:stock} ...on User{email}}}';
    const representations = [
      { __typename: 'Product', id: 'p1' },
      { __typename: 'User', id: 'u1' },
      { __typename: 'Product', id: 'p2' },
    ];
    expect(pathsOf(query, { representations })).toEqual([
      ['_entities', 0, 'inStock'],
      ['_entities', 0, 'qty'],
      ['_entities', 1, 'email'],
      ['_entities', 2, 'inStock'],
      ['_entities', 2, 'qty'],
    ]);
  });

  it('points at the entity when nothing but __typename was selected for its type', () => {
    const query =
      'query($representations:[_Any!]!){_entities(representations:$representations){...on Product{__typename}}}';
    expect(pathsOf(query, { representations: [{ __typename: 'Product', id: 'p1' }] })).toEqual([['_entities', 0]]);
  });

  it(`lists at most ${MAX_FAILURE_PATHS} paths and sums up the rest in one error without a path`, () => {
    const query =
      'query($representations:[_Any!]!){_entities(representations:$representations){...on Product{inStock}}}';
    const representations = Array.from({ length: 100_000 }, (_, i) => ({ __typename: 'Product', id: `p${i}` }));
    const paths = pathsOf(query, { representations });
    expect(paths).toHaveLength(MAX_FAILURE_PATHS + 1);
    expect(paths.slice(0, MAX_FAILURE_PATHS)).toEqual(
      Array.from({ length: MAX_FAILURE_PATHS }, (_, i) => ['_entities', i, 'inStock']),
    );
    expect(paths[MAX_FAILURE_PATHS]).toBeUndefined();

    const aliases = Array.from({ length: MAX_FAILURE_PATHS + 5 }, (_, i) => `a${i}:x`).join(' ');
    expect(pathsOf(`{${aliases}}`)).toHaveLength(MAX_FAILURE_PATHS + 1);
    // Exactly at the bound: nothing to sum up.
    expect(pathsOf(`{${aliases.split(' ').slice(0, MAX_FAILURE_PATHS).join(' ')}}`)).toHaveLength(MAX_FAILURE_PATHS);
  });

  it.each([
    ['a query it cannot parse', '{ me {', undefined],
    ['an entity fetch without representations', 'query{_entities(representations:[]){...on P{x}}}', {}],
  ])('answers one error without a path for %s', (_label, query, variables) => {
    expect(pathsOf(query, variables)).toEqual([undefined]);
  });

  it('carries the reason and the mark, which JSON cannot carry', () => {
    const [error] = failedFetchResult('{a}', undefined, {
      code: 'DOWNSTREAM_SERVICE_ERROR',
      message: 'm',
      reason: 'CIRCUIT_OPEN',
    }).errors;
    expect(error?.extensions).toMatchObject({ code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' });
    expect(error?.extensions[FETCH_FAILURE]).toBe(true);
    expect(isFetchFailure(JSON.parse(JSON.stringify(error?.extensions)))).toBe(false);
  });
});
