import { composeServices } from '@apollo/composition';
import { getOperationAST, parse } from 'graphql';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  actualCost,
  compileCostPlan,
  CostInputError,
  CostVisitLimitError,
  createCostEstimator,
  createCostModel,
  DEFAULT_MAX_VISITS,
  type CostModel,
  type EstimateRequest,
} from './estimate';

const SUPERGRAPH = readFileSync(join(__dirname, '..', '..', '..', 'schema', 'supergraph.graphql'), 'utf8');
const supergraph = createCostModel(SUPERGRAPH);

/** A small graph with an interface, a union, weighed types, arguments and input fields. */
function composeZoo(): CostModel {
  const result = composeServices([
    {
      name: 'zoo',
      url: 'http://zoo.test',
      typeDefs: parse(`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])
        type Query {
          animals(limit: Int = 5): [Animal!]! @listSize(slicingArguments: ["limit"], requireOneSlicingArgument: false)
          search(term: String! @cost(weight: 2), filter: SearchFilter): [SearchResult!]! @listSize(assumedSize: 4)
          zoo: Zoo
          page(first: Int, last: Int): [Keeper!]! @listSize(slicingArguments: ["first", "last"])
          exhibits: [Exhibit!]! @listSize(assumedSize: 2)
        }
        interface Exhibit { id: ID! tour: String }
        type Aquarium implements Exhibit { id: ID! tour: String @cost(weight: 6) }
        type Aviary implements Exhibit { id: ID! tour: String }
        type Mutation { feed(animalId: ID!, portions: [Int!]): Animal }
        input SearchFilter { kinds: [String!] @cost(weight: 3) near: String }
        interface Animal { id: ID! name: String }
        type Dog implements Animal @key(fields: "id") { id: ID! name: String bark: Sound @cost(weight: 4) }
        type Cat implements Animal @key(fields: "id") { id: ID! name: String lives: Int @cost(weight: 2) voice: Sound }
        type Sound @cost(weight: 3) { volume: Int }
        union SearchResult = Dog | Cat
        type Zoo { keepers: [Keeper!]! }
        type Keeper { name: String }
      `),
    },
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return createCostModel(result.supergraphSdl);
}
const zoo = composeZoo();

function request(
  query: string,
  variables: Record<string, unknown> = {},
  operationName: string | null = null,
): EstimateRequest {
  const document = parse(query);
  const operation = getOperationAST(document, operationName);
  if (!operation) throw new Error('no operation');
  return {
    document,
    operation,
    operationName: operation.name?.value ?? null,
    queryHash: createHash('sha256').update(query).digest('hex'),
    variables,
  };
}

const estimator = createCostEstimator({ model: supergraph });
const zooEstimator = createCostEstimator({ model: zoo, defaultListSize: 7 });
const cost = (query: string, variables?: Record<string, unknown>) => estimator.estimate(request(query, variables)).cost;
const zooCost = (query: string, variables?: Record<string, unknown>) =>
  zooEstimator.estimate(request(query, variables)).cost;

describe('estimates on the supergraph', () => {
  it('costs objects 1 and scalars 0', () => {
    // me: User 1; id, name, email: scalars 0.
    expect(cost('{ me { id name email } }')).toBe(1);
  });

  it('multiplies nested connections by their slicing arguments, through sizedFields', () => {
    // products: ProductConnection 1 (not a list; its @listSize sizes `edges` with first = 10)
    //   edges: 10 × ProductEdge
    //     ProductEdge 1 + node: Product 1
    //       + reviews: ReviewConnection 1 (sizes its `edges` with first = 5)
    //           edges: 5 × (ReviewEdge 1 + node: Review 1 + author: User 1 + name 0) = 5 × 3 = 15
    //         reviews = 1 + 15 = 16
    //       node = 1 + 16 = 17
    //     edge = 1 + 17 = 18
    //   edges = 10 × 18 = 180
    // products = 1 + 180 = 181
    expect(
      cost('{ products(first: 10) { edges { node { reviews(first: 5) { edges { node { author { name } } } } } } } }'),
    ).toBe(181);
  });

  it('takes slicing arguments from variables, per request, from one compiled plan', () => {
    const query = 'query($n: Int!) { products(first: $n) { edges { node { name shippingEstimate } } } }';
    // products 1 + n × (ProductEdge 1 + Product 1 + name 0 + shippingEstimate @cost 2) = 1 + 4n
    const first = estimator.estimate(request(query, { n: 3 }));
    expect(first.cost).toBe(1 + 3 * 4);
    const second = estimator.estimate(request(query, { n: 100 }));
    expect(second.cost).toBe(1 + 100 * 4);
    expect(second.cached).toBe(true);
    expect(second.plan).toBe(first.plan);
  });

  it("uses the operation's variable default when the variable is not provided", () => {
    // products 1 + edges 4 × (ProductEdge 1 + cursor 0) + pageInfo 1 = 6
    expect(cost('query($n: Int = 4) { products(first: $n) { edges { cursor } pageInfo { hasNextPage } } }')).toBe(6);
  });

  it('folds a variable-free operation into a number at compile time', () => {
    const { document, operation } = request('{ me { id } }');
    expect(compileCostPlan(supergraph, document, operation).expr).toBe(1);
  });

  it('expands named and inline fragments on a concrete type', () => {
    // product 1 + shippingEstimate 2 (fragment P) + reviews 1 + 2 × (ReviewEdge 1 + Review 1 + rating 0) = 8
    expect(
      cost(`{ product(id: "p1") { ...P ... on Product { reviews(first: 2) { edges { node { rating } } } } } }
            fragment P on Product { shippingEstimate }`),
    ).toBe(8);
  });

  it('adds 10 per mutation root field on top of the field itself', () => {
    // createProduct: mutation 10 + Product 1 + id 0 + argument `input` (an input object, 1; its scalars 0) = 12
    expect(cost('mutation { createProduct(input: { sku: "s", name: "n", price: 1, weight: 2 }) { id } }')).toBe(12);
    // deleteReview: 10 + ID 0 = 10; adjustStock: 10 + Product 1 + quantity 0 = 11; total 21
    expect(cost('mutation { deleteReview(id: "r1") adjustStock(productId: "p1", delta: 3) { quantity } }')).toBe(21);
    // The input object as a variable costs the same as the literal: 10 + 1 + 1 = 12
    expect(
      cost('mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }', {
        input: { sku: 's', name: 'n', price: 1, weight: 2 },
      }),
    ).toBe(12);
  });

  it('costs __typename nothing and introspection like any other selection', () => {
    expect(cost('{ __typename }')).toBe(0);
    // __schema: __Schema 1 + types: list without @listSize, default 10 × __Type 1 = 11
    expect(cost('{ __schema { types { name } } }')).toBe(11);
  });

  it('applies @skip and @include, literal or variable', () => {
    expect(
      cost('{ me @skip(if: true) { id } products(first: 1) @include(if: false) { pageInfo { hasNextPage } } }'),
    ).toBe(0);
    const query = 'query($hide: Boolean!) { me @skip(if: $hide) { id } }';
    expect(cost(query, { hide: true })).toBe(0);
    expect(cost(query, { hide: false })).toBe(1);
  });
});

describe('estimates with interfaces, unions and weights (composed test graph)', () => {
  it('uses the argument default as the slicing value', () => {
    // animals: limit defaults to 5 → 5 × (Animal 1 + id 0 + name 0) = 5
    expect(zooCost('{ animals { id name } }')).toBe(5);
  });

  it('takes the most expensive possible type under an interface', () => {
    // Dog: name 0 + bark (field @cost 4 overrides Sound's 3) + volume 0 = 4; the Cat fragment does not apply
    // Cat: name 0 + lives @cost 2 + voice (Sound, type @cost 3) + volume 0 = 5
    // each animal = Animal 1 + max(4, 5) = 6; limit 2 → 12   (Router sums the fragments: 2 × (1 + 4 + 5) = 20)
    expect(
      zooCost('{ animals(limit: 2) { name ... on Dog { bark { volume } } ... on Cat { lives voice { volume } } } }'),
    ).toBe(12);
  });

  it('costs per possible type when an implementation weighs an interface field more', () => {
    // Exhibit.tour weighs 0, Aquarium.tour 6: max(Aquarium 1 + 6, Aviary 1 + 0) = 7; assumedSize 2 → 14
    // (Router uses the interface's weight: 2 × 1 = 2)
    expect(zooCost('{ exhibits { tour } }')).toBe(14);
  });

  it('does not narrow a fragment on the interface itself', () => {
    // 3 × (Animal 1 + name 0) = 3
    expect(zooCost('{ animals(limit: 3) { ...A } } fragment A on Animal { name }')).toBe(3);
  });

  it('takes the maximum over a union, with named fragments, plus argument weights', () => {
    // Dog: name 0 + bark 4 = 4; Cat: lives 2 → max 4; each = SearchResult 1 + 4 = 5
    // assumedSize 4 → 20; argument term has @cost 2 → 22
    expect(
      zooCost(
        '{ search(term: "x") { __typename ...D ...C } } fragment D on Dog { name bark { volume } } fragment C on Cat { lives }',
      ),
    ).toBe(22);
  });

  it('adds input field weights, from literals and from variables', () => {
    // search 4 × SearchResult 1 = 4; term 2
    // filter: input object 1 + kinds (list, field @cost 3: 3 for the list + 3 per element × 2 = 9) + near 0 = 10
    // total 4 + 2 + 10 = 16
    expect(zooCost('{ search(term: "x", filter: { kinds: ["a", "b"], near: "z" }) { __typename } }')).toBe(16);
    const query = 'query($t: String!, $f: SearchFilter) { search(term: $t, filter: $f) { __typename } }';
    expect(zooCost(query, { t: 'x', f: { kinds: ['a', 'b'], near: 'z' } })).toBe(16);
    // filter null: 4 + 2 + 0 = 6
    expect(zooCost(query, { t: 'x', f: null })).toBe(6);
    // four kinds: filter 1 + 3 + 4 × 3 = 16; total 4 + 2 + 16 = 22
    expect(zooCost(query, { t: 'x', f: { kinds: ['a', 'b', 'c', 'd'] } })).toBe(22);
  });

  it('uses the configured default size for a list without @listSize', () => {
    // zoo: Zoo 1 + keepers: default 7 × Keeper 1 = 8
    expect(zooCost('{ zoo { keepers { name } } }')).toBe(8);
  });

  it('enforces requireOneSlicingArgument, statically and per request', () => {
    expect(zooCost('{ page(first: 2) { name } }')).toBe(2);
    expect(() => zooCost('{ page(first: 2, last: 3) { name } }')).toThrow(CostInputError);
    const query = 'query($f: Int, $l: Int) { page(first: $f, last: $l) { name } }';
    expect(zooCost(query, { f: 2 })).toBe(2);
    expect(() => zooCost(query, { f: 2, l: 3 })).toThrow(CostInputError);
    expect(() => zooCost(query, {})).toThrow(CostInputError);
  });

  it('costs a mutation root field 10 plus its type', () => {
    // feed: 10 + Animal 1 + name 0; arguments: ID 0, list of Int without weights 0 → 11
    expect(zooCost('mutation { feed(animalId: "a1", portions: [1, 2]) { name } }')).toBe(11);
  });
});

describe('work is bounded', () => {
  /** `F0` spreads `F1` twice, … `F19` spreads `F20` twice: 2^20 copies of `F20` once expanded. */
  function fragmentBomb(levels: number): string {
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`);
    return `query Bomb { me { ...F0 } }\n${fragments.join('\n')}\nfragment F${levels} on User { id }`;
  }

  it('refuses a 2^20-expanding fragment bomb after at most maxVisits steps, and remembers it', () => {
    const bomb = request(fragmentBomb(20));
    const bounded = createCostEstimator({ model: supergraph });
    let refusal: unknown;
    try {
      bounded.estimate(bomb);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(CostVisitLimitError);
    const { visits, limit } = refusal as CostVisitLimitError;
    expect(limit).toBe(DEFAULT_MAX_VISITS);
    expect(visits).toBe(limit + 1);
    expect(visits).toBeLessThan(2 ** 20 / 50);
    // The second time nothing is walked: the cached refusal is thrown again.
    expect(() => bounded.estimate(bomb)).toThrow(refusal as Error);
  });

  it('walks a small bomb completely and counts every expanded step', () => {
    // 2^3 = 8 copies of F3's `id`: visits = me 1 + spreads (2 + 4 + 8 … from F0..F2, plus the first) + 8 ids
    const { document, operation } = request(fragmentBomb(3));
    const plan = compileCostPlan(supergraph, document, operation);
    // me 1; ...F0 1; F0 → 2 spreads; F1 → 4; F2 → 8; F3 → 8 ids: 1 + 1 + 2 + 4 + 8 + 8 = 24
    expect(plan.visits).toBe(24);
    expect(plan.expr).toBe(1);
  });

  it('keeps a bounded number of compiled operations', () => {
    const small = createCostEstimator({ model: supergraph, cacheEntries: 2 });
    const a = request('{ me { id } }');
    small.estimate(a);
    small.estimate(request('{ me { name } }'));
    small.estimate(request('{ me { email } }'));
    expect(small.estimate(a).cached).toBe(false);
  });
});

describe('actual cost from the response', () => {
  const planOf = (model: CostModel, query: string) => {
    const { document, operation } = request(query);
    return compileCostPlan(model, document, operation);
  };

  it('uses the real list lengths', () => {
    const plan = planOf(
      supergraph,
      '{ products(first: 10) { edges { node { reviews(first: 5) { edges { node { author { name } } } } } } } }',
    );
    const review = { node: { author: { name: 'Ada' } } };
    const product = { node: { reviews: { edges: [review] } } };
    // review edge: 1 + Review 1 + User 1 = 3; reviews 1 + 1 × 3 = 4; product node 1 + 4 = 5; edge 1 + 5 = 6
    // two edges: 12; products 1 + 12 = 13 (estimated 181)
    expect(actualCost({ products: { edges: [product, product] } }, plan, {})).toBe(13);
  });

  it('charges nothing for what came back null, and each response key once', () => {
    // me 1 + product null 0 = 1
    expect(
      actualCost({ me: { id: 'u1' }, product: null }, planOf(supergraph, '{ me { id } product(id: "p") { id } }'), {}),
    ).toBe(1);
    // Two aliases of `me`: 1 + 1 = 2
    expect(
      actualCost({ a: { id: 'u1' }, b: { name: 'Ada' } }, planOf(supergraph, '{ a: me { id } b: me { name } }'), {}),
    ).toBe(2);
  });

  it('resolves the concrete type under an interface, with or without __typename', () => {
    const withTypename = planOf(
      zoo,
      '{ animals(limit: 2) { __typename ... on Dog { bark { volume } } ... on Cat { lives } } }',
    );
    // Dog: Animal 1 + bark 4 = 5; Cat: 1 + lives 2 = 3; total 8 (estimated 2 × (1 + max(4, 2)) = 10)
    const data = {
      animals: [
        { __typename: 'Dog', bark: { volume: 1 } },
        { __typename: 'Cat', lives: 9 },
      ],
    };
    expect(actualCost(data, withTypename, {})).toBe(8);
    const withoutTypename = planOf(
      zoo,
      '{ animals(limit: 2) { ... on Dog { bark { volume } } ... on Cat { lives } } }',
    );
    expect(actualCost({ animals: [{ bark: { volume: 1 } }, { lives: 9 }] }, withoutTypename, {})).toBe(8);
  });

  it('charges a list longer than its assumed size in full', () => {
    const plan = planOf(zoo, '{ zoo { keepers { name } } }');
    // zoo 1 + 12 keepers × 1 = 13 (estimated with the default size 7: 8)
    expect(actualCost({ zoo: { keepers: Array.from({ length: 12 }, () => ({ name: 'k' })) } }, plan, {})).toBe(13);
  });

  it('costs a mutation as estimated when it returns what was asked', () => {
    const plan = planOf(
      supergraph,
      'mutation { createProduct(input: { sku: "s", name: "n", price: 1, weight: 2 }) { id } }',
    );
    // 10 + input 1 + Product 1 = 12
    expect(actualCost({ createProduct: { id: 'p1' } }, plan, {})).toBe(12);
  });
});
