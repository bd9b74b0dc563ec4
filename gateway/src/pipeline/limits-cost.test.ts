/**
 * The limits stage (list bounds) and the cost estimator read a slicing argument by the same rule (literal, provided
 * variable, the operation's default, the argument's default) and leave out the same @skip/@include selections: for
 * each document below, limits refuse exactly when the value the estimator prices is outside the bounds.
 */
import { composeServices } from '@apollo/composition';
import { GraphQLError, parse } from 'graphql';
import { createCostEstimator, createCostModel } from '../cost/estimate';
import type { PlanLimits } from '../tenants/plan';
import { resolvedOperation } from '../testing/operation';
import type { Caller } from './index';
import { createLimitsStage } from './limits';

function composeLibrary() {
  const result = composeServices([
    {
      name: 'library',
      url: 'http://library.test',
      typeDefs: parse(`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@listSize"])
        type Query {
          shelf(first: Int = 500): [Book!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
          catalog(first: Int): [Book!]! @listSize(slicingArguments: ["first"], assumedSize: 7, requireOneSlicingArgument: false)
        }
        type Book { title: String }
      `),
    },
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return createCostModel(result.supergraphSdl);
}

const model = composeLibrary();
const estimator = createCostEstimator({ model });
const CALLER: Caller = {
  tenantId: 'limits-cost-agree',
  principal: 'u',
  roles: ['admin'],
  credential: 'jwt',
  tokenExpiresAt: Date.now() + 60_000,
};
const LIMITS: PlanLimits = {
  maxCost: 1_000_000,
  budget: { capacity: 1_000_000, restoreRate: 10 },
  maxDepth: 10,
  maxAliases: 10,
  maxRootFields: 10,
  maxDirectivesPerField: 2,
  maxTokens: 1_000,
  maxBodyBytes: 10_000,
};
const BOUNDS = { model, min: 1, max: 100 };
const limits = createLimitsStage({ limitsFor: () => LIMITS, listBounds: BOUNDS });

/** Whether the limits stage refuses the operation for a list bound (any other refusal fails the test). */
function limitsRefuse(query: string, variables: Record<string, unknown>): boolean {
  try {
    limits.run(resolvedOperation(query, CALLER, variables));
    return false;
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code === 'BAD_USER_INPUT') return true;
    throw error;
  }
}

function estimate(query: string, variables: Record<string, unknown>): number {
  const operation = resolvedOperation(query, CALLER, variables);
  return estimator.estimate(operation).cost;
}

/** `size`: the list size both stages must read (each Book costs 1, its title 0); 'skipped': neither sees the field. */
const cases: readonly { name: string; query: string; variables?: Record<string, unknown>; size: number | 'skipped' }[] =
  [
    { name: 'literal', query: '{ shelf(first: 20) { title } }', size: 20 },
    { name: 'argument omitted: the schema default', query: '{ shelf { title } }', size: 500 },
    {
      name: 'variable provided',
      query: 'query($n: Int) { shelf(first: $n) { title } }',
      variables: { n: 30 },
      size: 30,
    },
    {
      name: 'variable omitted, operation default',
      query: 'query($n: Int = 40) { shelf(first: $n) { title } }',
      size: 40,
    },
    {
      name: 'variable omitted, operation default out of bounds',
      query: 'query($n: Int = 400) { shelf(first: $n) { title } }',
      size: 400,
    },
    {
      name: 'variable omitted, no operation default: the schema default',
      query: 'query($n: Int) { shelf(first: $n) { title } }',
      size: 500,
    },
    {
      name: 'provided value wins over the defaults',
      query: 'query($n: Int = 400) { shelf(first: $n) { title } }',
      variables: { n: 5 },
      size: 5,
    },
    { name: '@skip(if: true)', query: '{ shelf(first: 500) @skip(if: true) { title } }', size: 'skipped' },
    {
      name: '@include(if: false) on an inline fragment',
      query: '{ ... @include(if: false) { shelf(first: 500) { title } } }',
      size: 'skipped',
    },
    {
      name: '@skip on a fragment spread',
      query: '{ ...F @skip(if: true) } fragment F on Query { shelf(first: 500) { title } }',
      size: 'skipped',
    },
    {
      name: '@skip by a variable',
      query: 'query($s: Boolean!) { shelf(first: 500) @skip(if: $s) { title } }',
      variables: { s: true },
      size: 'skipped',
    },
    {
      name: '@skip by a variable, not skipped',
      query: 'query($s: Boolean!) { shelf(first: 500) @skip(if: $s) { title } }',
      variables: { s: false },
      size: 500,
    },
    {
      name: '@include by a variable default',
      query: 'query($i: Boolean = false) { shelf(first: 500) @include(if: $i) { title } }',
      size: 'skipped',
    },
    {
      name: '@include by a variable default, overridden',
      query: 'query($i: Boolean = false) { shelf(first: 500) @include(if: $i) { title } }',
      variables: { i: true },
      size: 500,
    },
  ];

describe('limits and cost agree on slicing arguments', () => {
  it.each(cases)('$name', ({ query, variables = {}, size }) => {
    const expectedRefusal = size !== 'skipped' && (size < BOUNDS.min || size > BOUNDS.max);
    expect(limitsRefuse(query, variables)).toBe(expectedRefusal);
    expect(estimate(query, variables)).toBe(size === 'skipped' ? 0 : size);
  });

  it('a fragment skipped at one spread and included at another is checked and priced once included', () => {
    const query = '{ ...F @skip(if: true) ...F } fragment F on Query { shelf(first: 500) { title } }';
    expect(limitsRefuse(query, {})).toBe(true);
    expect(estimate(query, {})).toBe(500);
  });

  it('an absent value is not checked and is priced at the assumed size', () => {
    expect(limitsRefuse('query($n: Int) { catalog(first: $n) { title } }', {})).toBe(false);
    expect(estimate('query($n: Int) { catalog(first: $n) { title } }', {})).toBe(7);
    expect(limitsRefuse('{ catalog { title } }', {})).toBe(false);
    expect(estimate('{ catalog { title } }', {})).toBe(7);
  });
});
