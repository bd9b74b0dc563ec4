import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CostDirectiveError, costDirectiveNames, readCostDirectives } from './directives';

const SUPERGRAPH = readFileSync(join(__dirname, '..', '..', '..', 'schema', 'supergraph.graphql'), 'utf8');

describe('readCostDirectives on the checked-in supergraph', () => {
  const directives = readCostDirectives(SUPERGRAPH);

  it('reads @cost (the cost spec eponymous directive) and the imported @listSize', () => {
    expect(directives.fields.get('Product.shippingEstimate')).toEqual({ weight: 2 });
    expect(directives.fields.get('Query.products')).toEqual({
      listSize: { slicingArguments: ['first'], sizedFields: ['edges'], requireOneSlicingArgument: true },
    });
    expect(directives.fields.get('User.reviews')?.listSize?.sizedFields).toEqual(['edges']);
    expect(directives.fields.get('Product.name')).toBeUndefined();
  });
});

describe('costDirectiveNames follows @link', () => {
  const names = (sdl: string) => {
    const { cost, listSize } = costDirectiveNames(parse(sdl));
    return { cost: [...cost], listSize: [...listSize] };
  };

  it('uses the spec defaults: @cost (eponymous) and @cost__listSize when nothing is imported', () => {
    expect(names('schema @link(url: "https://specs.apollo.dev/cost/v0.1") { query: Q } type Q { a: Int }')).toEqual({
      cost: ['cost'],
      listSize: ['cost__listSize'],
    });
  });

  it('namespaces both with `as`', () => {
    expect(
      names('schema @link(url: "https://specs.apollo.dev/cost/v0.1", as: "x") { query: Q } type Q { a: Int }'),
    ).toEqual({
      cost: ['x'],
      listSize: ['x__listSize'],
    });
  });

  it('renames through imports', () => {
    const sdl = `schema @link(url: "https://specs.apollo.dev/cost/v0.1",
      import: [{ name: "@cost", as: "@weight" }, { name: "@listSize", as: "@size" }]) { query: Q } type Q { a: Int }`;
    expect(names(sdl)).toEqual({ cost: ['weight'], listSize: ['size'] });
  });

  it('reads the federation spec (2.9 and later) in subgraph SDL, imported or namespaced', () => {
    expect(
      names(
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost"]) type Q { a: Int }',
      ),
    ).toEqual({ cost: ['cost'], listSize: ['federation__listSize'] });
    expect(
      names('extend schema @link(url: "https://specs.apollo.dev/federation/v2.11", as: "fed") type Q { a: Int }'),
    ).toEqual({
      cost: ['fed__cost'],
      listSize: ['fed__listSize'],
    });
    // Before 2.9 the federation spec has no cost directives: a @cost there is somebody else's.
    expect(
      names('extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key"]) type Q { a: Int }'),
    ).toEqual({
      cost: [],
      listSize: [],
    });
  });

  it('follows a renamed link directive', () => {
    const sdl = `schema
      @l(url: "https://specs.apollo.dev/link/v1.0", as: "l")
      @l(url: "https://specs.apollo.dev/cost/v0.1", as: "c")
      @link(url: "https://specs.apollo.dev/cost/v0.1", as: "ignored")
      { query: Q } type Q { a: Int }`;
    expect(names(sdl)).toEqual({ cost: ['c'], listSize: ['c__listSize'] });
  });

  it('uses the IBM specification names in a schema without @link', () => {
    expect(names('type Q { a: Int }')).toEqual({ cost: ['cost'], listSize: ['listSize'] });
  });
});

describe('readCostDirectives', () => {
  it('reads renamed directives and ignores a same-named directive that is not the linked one', () => {
    const directives = readCostDirectives(`
      schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/cost/v0.1", as: "x") { query: Q }
      type Q {
        a: [T] @x(weight: 3) @x__listSize(assumedSize: 7)
        b: Int @cost(weight: 100)
      }
      type T { id: ID }
    `);
    expect(directives.fields.get('Q.a')).toEqual({
      weight: 3,
      listSize: { assumedSize: 7, requireOneSlicingArgument: true },
    });
    expect(directives.fields.get('Q.b')).toBeUndefined();
  });

  it('reads type, argument and input field weights, in definitions and extensions', () => {
    const directives = readCostDirectives(`
      type Q { search(term: String @cost(weight: 2), filter: F): [R] }
      extend type Q { more(n: Int @cost(weight: 5)): Int }
      type R @cost(weight: 4) { id: ID }
      scalar Money @cost(weight: 6)
      enum Kind @cost(weight: 7) { A }
      input F { kinds: [String] @cost(weight: 3) plain: Int }
      extend input F { extra: Int @cost(weight: 8) }
    `);
    expect(Object.fromEntries(directives.types)).toEqual({ R: 4, Money: 6, Kind: 7 });
    expect(Object.fromEntries(directives.arguments)).toEqual({ 'Q.search(term:)': 2, 'Q.more(n:)': 5 });
    expect(Object.fromEntries(directives.inputFields)).toEqual({ 'F.kinds': 3, 'F.extra': 8 });
  });

  it('reads a supergraph composed from subgraphs that rename the federation imports', () => {
    const subgraph = (sdl: string) => parse(sdl);
    const imports = '["@key", { name: "@cost", as: "@weight" }, { name: "@listSize", as: "@size" }]';
    const result = composeServices([
      {
        name: 'a',
        url: 'http://a.test',
        typeDefs: subgraph(`
          extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ${imports})
          type Query { pets(first: Int): [Pet!]! @size(slicingArguments: ["first"]) }
          type Pet @key(fields: "id") { id: ID! name: String }`),
      },
      {
        name: 'b',
        url: 'http://b.test',
        typeDefs: subgraph(`
          extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ${imports})
          type Pet @key(fields: "id") { id: ID! vet: String @weight(weight: 9) }`),
      },
    ]);
    expect(result.errors).toBeUndefined();
    const directives = readCostDirectives(result.supergraphSdl ?? '');
    expect(directives.fields.get('Query.pets')?.listSize?.slicingArguments).toEqual(['first']);
    expect(directives.fields.get('Pet.vet')).toEqual({ weight: 9 });
  });

  it('refuses malformed directives at load time', () => {
    expect(() => readCostDirectives('type Q { a: Int @cost(weight: -1) }')).toThrow(CostDirectiveError);
    expect(() => readCostDirectives('type Q { a(n: Int): [Int] @listSize(slicingArguments: ["first"]) }')).toThrow(
      /slicing argument "first"/,
    );
    expect(() => readCostDirectives('type Q { a: [Int] @listSize(assumedSize: "ten") }')).toThrow(/assumedSize/);
  });
});
