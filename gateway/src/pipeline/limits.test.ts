import { getOperationAST, GraphQLError, parse } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCostModel } from '../cost/estimate';
import { DEFAULT_PLANS, type PlanLimits } from '../tenants/plan';
import type { Caller, OperationRequest } from './index';
import { resolvedOperation } from '../testing/operation';
import {
  assertBodyWithinPlan,
  countTokens,
  createLimitsStage,
  LimitCode,
  measureOperation,
  parseOptionsForPlans,
} from './limits';

const model = createCostModel(readFileSync(join(__dirname, '..', '..', '..', 'schema', 'supergraph.graphql'), 'utf8'));

const CALLER: Caller = {
  tenantId: 'acme',
  principal: 'user-1',
  roles: ['admin'],
  credential: 'jwt',
  tokenExpiresAt: Date.now() + 60_000,
};

const LIMITS: PlanLimits = {
  maxCost: 1_000,
  budget: { capacity: 1_000, restoreRate: 10 },
  maxDepth: 4,
  maxAliases: 2,
  maxRootFields: 2,
  maxDirectivesPerField: 1,
  maxTokens: 60,
  maxBodyBytes: 1_024,
};

const stage = createLimitsStage({ limitsFor: () => LIMITS, listBounds: { model, min: 1, max: 100 } });

function refusalOf(request: OperationRequest): GraphQLError {
  try {
    stage.run(request);
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

function refusal(query: string, variables?: Record<string, unknown>): GraphQLError {
  return refusalOf(resolvedOperation(query, CALLER, variables));
}

function expectLimit(error: GraphQLError, code: LimitCode, maximum: number, actual: number): void {
  expect(error.extensions).toMatchObject({
    code: 'GRAPHQL_VALIDATION_FAILED',
    validationErrorCode: code,
    maximum,
    actual,
    http: { status: 400 },
  });
}

describe('limits stage', () => {
  it('lets an operation within every limit through', () => {
    expect(() =>
      stage.run(
        resolvedOperation('query($n: Int!) { products(first: $n) { edges { node { name } } } }', CALLER, { n: 100 }),
      ),
    ).not.toThrow();
  });

  it('refuses too many tokens, counting only as far as needed', () => {
    // `{ me { ` is 3 tokens, each `id` one, `} }` 2: 3 + 60 + 2 = 65 tokens; counting stops at 61.
    expectLimit(refusal(`{ me { ${'id '.repeat(60)}} }`), LimitCode.MAX_TOKENS_LIMIT, 60, 61);
  });

  it('counts from the query text when the document has no locations (as the document store keeps it), or prints it', () => {
    const query = `{ me { ${'id '.repeat(60)}} }`;
    const bare = { ...resolvedOperation(query, CALLER), document: parse(query, { noLocation: true }) };
    // From the text: the same count, stopping at 61.
    expect(countTokens(bare.document, 60, query)).toBe(61);
    expectLimit(refusalOf(bare), LimitCode.MAX_TOKENS_LIMIT, 60, 61);
    // Replaced by a stage (filter mode): no text, so the document is printed and lexed.
    expect(countTokens(bare.document, 60)).toBe(61);
    expectLimit(refusalOf({ ...bare, source: undefined }), LimitCode.MAX_TOKENS_LIMIT, 60, 61);
    // A text no longer than the limit is not counted at all; one longer (whitespace) is counted and passes.
    expect(() => stage.run({ ...bare, source: `{ me { id } }${' '.repeat(100)}` })).not.toThrow();
  });

  it('does not count comments as tokens', () => {
    // { me { id } } is 6 tokens whatever the comments around it.
    expect(countTokens(parse(`# ${'x'.repeat(500)}\n{ me { id } } # trailing`), 100)).toBe(6);
  });

  it('refuses too deep an operation, fragments adding no depth of their own', () => {
    // products 1 > edges 2 > node 3 > reviews 4 > edges 5 > node 6 > rating 7
    const query = `{ products(first: 1) { edges { node { ...R } } } }
      fragment R on Product { reviews(first: 1) { edges { node { rating } } } }`;
    expectLimit(refusal(query), LimitCode.MAX_DEPTH_LIMIT, 4, 7);
  });

  it('refuses too many aliases, counting a fragment once per spread', () => {
    // F has 2 aliases and is spread twice (4), plus the alias `b`: 5
    expectLimit(
      refusal('{ me { ...F } b: me { ...F } } fragment F on User { x: id y: name }'),
      LimitCode.MAX_ALIASES_LIMIT,
      2,
      5,
    );
  });

  it('refuses too many root fields, including those from fragments at the root', () => {
    expectLimit(
      refusal('{ ...Q } fragment Q on Query { me { id } product(id: "p1") { id } user(id: "u1") { id } }'),
      LimitCode.MAX_ROOT_FIELDS_LIMIT,
      2,
      3,
    );
  });

  it('refuses too many directives on one field', () => {
    expectLimit(
      refusal('query($a: Boolean!) { me @include(if: $a) @skip(if: false) { id } }', { a: true }),
      LimitCode.MAX_DIRECTIVES_LIMIT,
      1,
      2,
    );
  });

  it('refuses a slicing argument out of range as BAD_USER_INPUT, literal, variable or default', () => {
    const badInput = (query: string, variables?: Record<string, unknown>) => {
      const error = refusal(query, variables);
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', http: { status: 400 } });
      expect(error.message).toMatch(/"first" of Query\.products must be an integer from 1 to 100/);
    };
    badInput('{ products(first: 0) { pageInfo { hasNextPage } } }');
    badInput('{ products(first: 101) { pageInfo { hasNextPage } } }');
    badInput('query($n: Int!) { products(first: $n) { pageInfo { hasNextPage } } }', { n: 500 });
    badInput('query($n: Int!) { products(first: $n) { pageInfo { hasNextPage } } }', { n: '10' });
    badInput('query($n: Int = 1000) { products(first: $n) { pageInfo { hasNextPage } } }');
    // Inside a fragment, on a nested connection:
    const nested = refusal('{ me { ...U } } fragment U on User { reviews(first: 500) { pageInfo { hasNextPage } } }');
    expect(nested.message).toMatch(/User\.reviews/);
  });
});

describe('measureOperation', () => {
  it('measures a 2^20-expanding fragment bomb without expanding it', () => {
    const levels = 20;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`);
    const document = parse(`{ me { ...F0 } }\n${fragments.join('\n')}\nfragment F${levels} on User { a: id }`);
    const operation = getOperationAST(document);
    if (!operation) throw new Error('no operation');
    // Each fragment is measured once; its alias count doubles per level: 2^20 aliases once expanded.
    expect(measureOperation(document, operation)).toEqual({
      depth: 2,
      aliases: 2 ** 20,
      rootFields: 1,
      directivesPerField: 0,
    });
  });
});

describe('guards before parsing', () => {
  it('refuses a body larger than the plan allows with PAYLOAD_TOO_LARGE', () => {
    expect(() => assertBodyWithinPlan(1_024, LIMITS)).not.toThrow();
    let error: unknown;
    try {
      assertBodyWithinPlan(1_025, LIMITS);
    } catch (e) {
      error = e;
    }
    expect((error as GraphQLError).extensions).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      maximum: 1_024,
      http: { status: 413 },
    });
  });

  it("gives Apollo Server's parser the largest plan's token limit", () => {
    const options = parseOptionsForPlans(DEFAULT_PLANS);
    expect(options).toEqual({ maxLexicalTokens: 15_000 });
    // `{ ` + 15 000 × `id ` + `}` = 15 002 tokens
    expect(() => parse(`{ ${'id '.repeat(15_000)}}`, options)).toThrow(/more tha[nt] 15000 tokens/);
  });
});
