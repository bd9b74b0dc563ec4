import { buildSchema, graphql, GraphQLError, parse, type GraphQLResolveInfo } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, and, chain, deny, not, or, race, rule, shield } from 'graphql-shield';
import type { Caller } from '../request';
import {
  AuthorizationGate,
  RuleTreeError,
  type AuthzContext,
  type Occurrence,
  type RuleTree,
  type ShieldRule,
  stableKey,
} from './gate';
import { apiSchema, gateRequest, person } from './test-fixtures';

const throwing = rule('throwing')(() => {
  throw new Error('lookup failed');
});
const yes = rule('yes')(() => true);
const no = rule('no')(() => false);

/** Small schema for what the supergraph does not have yet: interfaces, unions, argument defaults. */
const petSchema = buildSchema(`
  interface Node { id: ID! name: String }
  type Cat implements Node { id: ID! name: String lives: Int }
  type Dog implements Node { id: ID! name: String }
  union Pet = Cat | Dog
  type Query { node(id: ID!): Node pets: [Pet!]! cats(limit: Int = 10, sort: Sort): [Cat] }
  enum Sort { OLDEST NEWEST }
  type Mutation { first: Int second: Int }
`);
const petRules: RuleTree = {
  Query: allow,
  Mutation: allow,
  Cat: allow,
  Dog: { id: allow, name: deny },
};

function gateFor(rules: RuleTree, options: { schema?: typeof apiSchema; introspectionRule?: ShieldRule } = {}) {
  return new AuthorizationGate({
    schema: options.schema ?? petSchema,
    rules,
    introspectionRule: options.introspectionRule ?? deny,
  });
}

async function deniedPaths(
  gate: AuthorizationGate,
  query: string,
  options: { variables?: Record<string, unknown>; operationName?: string; caller?: Caller } = {},
): Promise<string[]> {
  const { denials } = await gate.evaluate(gateRequest(query, options.caller ?? person('customer'), options));
  const path = (o: Occurrence) => o.path.map((step) => step.key).join('.');
  return denials.flatMap((d) => d.field.occurrences.map((o) => `${d.typeName}:${path(o)}`)).sort();
}

/** What graphql-shield itself passes as options, for the demonstrations of its behaviour. */
const shieldDefaults = { debug: false, allowExternalErrors: false, fallbackRule: allow, hashFunction: () => '' };
const noInfo = {} as GraphQLResolveInfo;

describe('traps of graphql-shield, and what the gate does instead', () => {
  it('fallback: shield allows a field without a rule; the gate denies it', async () => {
    const schema = buildSchema('type Query { open: Int secret: Int }');
    const tree = { Query: { open: allow } };
    const shielded = applyMiddleware(schema, shield(tree));
    const result = await graphql({ schema: shielded, source: '{ secret }', rootValue: { secret: 42 } });
    expect(result).toEqual({ data: { secret: 42 } });

    const gate = new AuthorizationGate({ schema, rules: tree, introspectionRule: deny });
    expect(gate.uncoveredFields).toEqual(['Query.secret']);
    expect(await deniedPaths(gate, '{ secret }')).toEqual(['Query:secret']);
  });

  it('not(): shield turns a throwing rule into an allow; the gate denies, inside not() too', async () => {
    const ctx = { _shield: { cache: {} } };
    expect(await not(throwing).resolve({}, {}, ctx, noInfo, shieldDefaults)).toBe(true);

    const gate = gateFor({
      ...petRules,
      Query: { node: not(throwing), pets: or(throwing, yes), cats: race(throwing, yes) },
    });
    const query = '{ node(id: "1") { id } pets { __typename } cats { id } }';
    const { denials } = await gate.evaluate(gateRequest(query, person()));
    expect(denials.map((d) => [d.field.fieldName, d.reason, d.rule, d.error?.message])).toEqual([
      ['node', 'rule-error', 'not(throwing)', 'lookup failed'],
      ['pets', 'rule-error', 'or(throwing, yes)', 'lookup failed'],
      ['cats', 'rule-error', 'race(throwing, yes)', 'lookup failed'],
    ]);
  });

  it('a rule returning an Error or a string denies, and only true allows', async () => {
    const gate = gateFor({
      ...petRules,
      Query: {
        node: rule('error')(() => new Error('no access')),
        pets: rule('string')(() => 'no access'),
        cats: rule('truthy')(() => 1 as unknown as boolean),
      },
    });
    expect(await deniedPaths(gate, '{ node(id: "1") { id } pets { __typename } cats { id } }')).toEqual([
      'Query:cats',
      'Query:node',
      'Query:pets',
    ]);
  });

  it('contextual cache: shield shares one decision between rules of one name; the gate refuses to start', async () => {
    const first = rule('isOwner', { cache: 'contextual' })(() => true);
    const second = rule('isOwner', { cache: 'contextual' })(() => false);
    const ctx = { _shield: { cache: {} } };
    expect(await first.resolve({}, {}, ctx, noInfo, shieldDefaults)).toBe(true);
    expect(await second.resolve({}, {}, ctx, noInfo, shieldDefaults)).toBe(true);

    expect(() => gateFor({ ...petRules, Query: { node: first, pets: second } })).toThrow(RuleTreeError);
    expect(() => gateFor({ ...petRules, Query: { node: first } }, { introspectionRule: second })).toThrow(
      /share a name.*isOwner/,
    );
    // One rule used in many places is what naming is for.
    expect(() => gateFor({ ...petRules, Query: { node: first, pets: and(first, yes) } })).not.toThrow();
  });

  it('rules on interfaces and unions: shield ignores them; the gate refuses to start', () => {
    expect(() => gateFor({ ...petRules, Node: { name: deny } })).toThrow(/Rules for Node: rules go on object types/);
    expect(() => gateFor({ ...petRules, Pet: deny })).toThrow(RuleTreeError);
  });

  it('refuses rules for types and fields the schema does not have, and values that are not rules', () => {
    expect(() => gateFor({ ...petRules, Horse: allow })).toThrow(/Horse, which is not a type/);
    expect(() => gateFor({ ...petRules, Cat: { whiskers: allow } })).toThrow(/Cat.whiskers, which is not in/);
    expect(() => gateFor({ ...petRules, Sort: allow })).toThrow(/not an object type/);
    expect(() => gateFor({ ...petRules, Cat: { name: (() => true) as unknown as ShieldRule } })).toThrow(
      /Cat.name is not a shield rule/,
    );
  });
});

describe('rules see what the field is asked with', () => {
  it('gets coerced argument values (defaults, variables, enums), no parent, the caller and the field', async () => {
    const seen: unknown[] = [];
    const recording = rule('recording')((parent, args, ctx: AuthzContext, info: GraphQLResolveInfo) => {
      seen.push({ parent, args, principal: ctx.caller.principal, field: `${info.parentType.name}.${info.fieldName}` });
      return true;
    });
    const gate = gateFor({ ...petRules, Query: { cats: recording, node: allow, pets: allow } });
    await gate.evaluate(gateRequest('{ cats { id } }', person('admin')));
    await gate.evaluate(
      gateRequest('query ($n: Int) { cats(limit: $n, sort: NEWEST) { id } }', person('admin'), { variables: { n: 3 } }),
    );
    expect(seen).toEqual([
      { parent: undefined, args: { limit: 10 }, principal: 'user-admin', field: 'Query.cats' },
      { parent: undefined, args: { limit: 3, sort: 'NEWEST' }, principal: 'user-admin', field: 'Query.cats' },
    ]);
  });

  it("asks the rules afresh on every request, with each caller and the request's own argument values", async () => {
    const seen: unknown[] = [];
    const recording = rule('recording', { cache: 'no_cache' })((_parent, args, ctx: AuthzContext) => {
      seen.push({ args: { ...args }, principal: ctx.caller.principal });
      // A rule that changes what it was given changes nothing for the next request.
      (args as Record<string, unknown>).limit = -1;
      return ctx.caller.roles.includes('admin');
    });
    const gate = gateFor({ ...petRules, Query: { cats: recording, node: allow, pets: allow } });
    const query = 'query ($n: Int) { cats(limit: $n) { id } }';
    const run = (caller: Caller, n: number) => deniedPaths(gate, query, { caller, variables: { n } });
    expect(await run(person('admin'), 3)).toEqual([]);
    expect(await run(person('customer'), 3)).toEqual(['Query:cats']);
    expect(await run(person('admin'), 3)).toEqual([]);
    expect(await run(person('admin'), 5)).toEqual([]);
    expect(seen).toEqual([
      { args: { limit: 3 }, principal: 'user-admin' },
      { args: { limit: 3 }, principal: 'user-customer' },
      { args: { limit: 3 }, principal: 'user-admin' },
      { args: { limit: 5 }, principal: 'user-admin' },
    ]);
  });

  it('decides once per request for one rule and argument values, whatever the field', async () => {
    let calls = 0;
    const counted = rule('counted')(() => {
      calls += 1;
      return true;
    });
    const gate = gateFor({ ...petRules, Query: { cats: counted, node: counted, pets: counted } });
    const query = `{
      a: cats { id } b: cats { id } c: cats(limit: 10) { id }
      node(id: "1") { id } other: node(id: "2") { id }
      pets { __typename }
    }`;
    await gate.evaluate(gateRequest(query, person()));
    // cats(limit: 10) three times, node(id: 1), node(id: 2), pets: four distinct argument values.
    expect(calls).toBe(4);
    await gate.evaluate(gateRequest(query, person()));
    expect(calls).toBe(8);
  });

  it('refuses variables that do not coerce, and a null for a non-null argument', async () => {
    const gate = gateFor(petRules);
    await expect(
      gate.evaluate(gateRequest('query ($n: Int) { cats(limit: $n) { id } }', person(), { variables: { n: 'many' } })),
    ).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const nullable = 'query ($id: ID = "1") { node(id: $id) { id } }';
    await expect(gate.evaluate(gateRequest(nullable, person(), { variables: { id: null } }))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
    });
  });
});

describe('the walk', () => {
  const gate = gateFor(petRules);

  it('follows aliases, named fragments and inline fragments to the field they select', async () => {
    const query = `
      query { a: cats { nickname: name } pets { ...Names } dogs: pets { ... on Dog { alias: name } } }
      fragment Names on Pet { ... on Cat { name } ... on Dog { id } }
    `;
    expect(await deniedPaths(gate, query)).toEqual(['Dog:dogs.@.alias']);
  });

  it('decides a field selected on an interface by every object type that can be there', async () => {
    expect(await deniedPaths(gate, '{ node(id: "1") { id name } }')).toEqual(['Dog:node.name']);
    expect(await deniedPaths(gate, '{ node(id: "1") { ... on Cat { name } } }')).toEqual([]);
    expect(await deniedPaths(gate, '{ pets { ... on Node { name } } }')).toEqual(['Dog:pets.@.name']);
    expect(await deniedPaths(gate, '{ pets { ... on Node { ... on Cat { name } } } }')).toEqual([]);
  });

  it('leaves out what @skip and @include leave out, with literals and variables', async () => {
    const query = `query ($dog: Boolean!) {
      pets { ... on Dog @include(if: $dog) { name } ... on Dog { n: name @skip(if: true) } }
    }`;
    expect(await deniedPaths(gate, query, { variables: { dog: false } })).toEqual([]);
    expect(await deniedPaths(gate, query, { variables: { dog: true } })).toEqual(['Dog:pets.@.name']);
  });

  it('walks only the operation asked for', async () => {
    const document = 'query Cats { cats { name } } query Dogs { pets { ... on Dog { name } } }';
    expect(await deniedPaths(gate, document, { operationName: 'Cats' })).toEqual([]);
    expect(await deniedPaths(gate, document, { operationName: 'Dogs' })).toEqual(['Dog:pets.@.name']);
  });

  it('decides every root field of a mutation, the second as much as the first', async () => {
    const mutations = gateFor({ ...petRules, Mutation: { first: allow, second: deny } });
    expect(await deniedPaths(mutations, 'mutation { first second }')).toEqual(['Mutation:second']);
  });

  it('stops an operation that expands to too many selections', async () => {
    const small = new AuthorizationGate({
      schema: petSchema,
      rules: petRules,
      introspectionRule: deny,
      maxSelections: 20,
    });
    const bomb = `
      { cats { ...A ...A ...A } }
      fragment A on Cat { ...B ...B ...B } fragment B on Cat { ...C ...C ...C } fragment C on Cat { id name lives }
    `;
    await expect(small.evaluate(gateRequest(bomb, person()))).rejects.toThrow(GraphQLError);
    await expect(small.evaluate(gateRequest(bomb, person()))).rejects.toMatchObject({
      extensions: { code: 'BAD_REQUEST' },
    });
  });

  it('works on the real API schema with deny-by-default', async () => {
    const real = gateFor({ Query: { me: allow }, User: { name: allow } }, { schema: apiSchema });
    expect(await deniedPaths(real, '{ me { name email reviews(first: 1) { edges { node { id } } } } }')).toEqual(
      [
        'ReviewConnection:me.reviews.edges',
        'ReviewEdge:me.reviews.edges.@.node',
        'Review:me.reviews.edges.@.node.id',
        'User:me.email',
        'User:me.reviews',
      ].sort(),
    );
  });
});

describe('the analysis cache', () => {
  it('walks a document once, whoever sends it', async () => {
    const gate = gateFor(petRules);
    const query = '{ pets { ... on Cat { name } } }';
    await gate.evaluate(gateRequest(query, person('admin')));
    await gate.evaluate(gateRequest(query, person('customer')));
    expect(gate.cacheStats).toEqual({ hits: 1, misses: 1 });
  });

  it('walks again for other @skip/@include values, other operations and other variables not', async () => {
    const gate = gateFor(petRules);
    const query = `
      query A($dog: Boolean!, $id: ID!) { node(id: $id) { id ... on Dog @include(if: $dog) { name } } }
      query B { cats { id } }
    `;
    const run = (operationName: string, variables: Record<string, unknown>) =>
      gate.evaluate(gateRequest(query, person(), { operationName, variables }));
    await run('A', { dog: false, id: '1' });
    await run('A', { dog: false, id: '2' });
    expect(gate.cacheStats).toEqual({ hits: 1, misses: 1 });
    await run('A', { dog: true, id: '1' });
    await run('B', {});
    expect(gate.cacheStats).toEqual({ hits: 1, misses: 3 });
    await run('A', { dog: true, id: '3' });
    await run('A', { dog: false, id: '3' });
    expect(gate.cacheStats).toEqual({ hits: 3, misses: 3 });
  });

  it('keeps a bounded number of documents, forgetting the least recently used', async () => {
    const options = { schema: petSchema, rules: petRules, introspectionRule: deny, analysisCacheSize: 2 };
    const gate = new AuthorizationGate(options);
    const run = (query: string) => gate.evaluate(gateRequest(query, person()));
    await run('{ cats { id } }');
    await run('{ cats { name } }');
    await run('{ cats { id } }');
    await run('{ cats { lives } }');
    expect(gate.cacheStats).toEqual({ hits: 1, misses: 3 });
    await run('{ cats { id } }');
    await run('{ cats { name } }');
    expect(gate.cacheStats).toEqual({ hits: 2, misses: 4 });
  });

  it('is keyed by the query hash: the document of a cache hit is the one first analysed', async () => {
    const gate = gateFor(petRules);
    const first = gateRequest('{ cats { id } }', person());
    const again = { ...first, document: parse('{ cats { id } }') };
    const a = await gate.evaluate(first);
    const b = await gate.evaluate(again);
    expect(b.analysis).toBe(a.analysis);
    expect(b.analysis.document).toBe(first.document);
  });
});

describe('rule composition is shield’s own', () => {
  it('evaluates and, or, chain, race, not, allow and deny as shield does', async () => {
    const gate = gateFor({
      ...petRules,
      Cat: {
        id: and(yes, no),
        name: or(no, yes),
        lives: chain(yes, not(no)),
      },
      Dog: { id: race(no, no), name: not(yes) },
    });
    const query = '{ cats { id name lives } pets { ... on Dog { id name } } }';
    expect(await deniedPaths(gate, query)).toEqual(['Cat:cats.@.id', 'Dog:pets.@.id', 'Dog:pets.@.name']);
  });
});

describe('stableKey', () => {
  // The general form, which the fast path for flat argument objects must match exactly.
  const reference = (value: unknown) =>
    JSON.stringify(value, (_key, v: unknown) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, (v as Record<string, unknown>)[k]]),
          )
        : v,
    );

  it.each([
    {},
    { first: 3 },
    { first: 3, after: 'abc', includeHidden: false, nothing: null },
    { b: 'x"y', a: 1.5, c: 'ünïcode' },
    { skipped: undefined, kept: 1 },
    { nested: { z: 1, a: [1, { y: 2, b: 3 }] }, first: 2 },
    { n: Number.NaN },
  ])('gives %j the same key as the general form, whatever the key order', (args) => {
    const reversed = Object.fromEntries(Object.entries(args).reverse());
    expect(stableKey(args)).toBe(reference(args));
    expect(stableKey(reversed)).toBe(reference(args));
  });

  it('refuses a value nested deeper than any body may be with BAD_USER_INPUT instead of overflowing the stack', () => {
    const deep: unknown = JSON.parse(`{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    let thrown: unknown;
    try {
      stableKey(deep);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GraphQLError);
    expect((thrown as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
    const deepButWalkable: unknown = JSON.parse(`{"x":${'['.repeat(500)}${']'.repeat(500)}}`);
    expect(stableKey(deepButWalkable)).toBe(reference(deepButWalkable));
  });
});
