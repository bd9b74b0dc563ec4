/**
 * The graphql-shield adapter: shield's rule types, how the gate asks one rule for a decision, and how rules are
 * described in logs. Why the gate decides rules itself instead of through shield's middleware: see gate.ts.
 */
import type { GraphQLResolveInfo } from 'graphql';
import type { and, IRules } from 'graphql-shield';
// Before any rule runs: Node 23+ lacks a util function graphql-shield's chain/race call (see the module).
import '../../../common/shield-node-compat';
import type { Caller } from '../request';
import { InvalidInputError } from './invalid-input';

/** graphql-shield exports its constructors but not these types; they are derived from the constructors. */
export type ShieldRule = Parameters<typeof and>[number];
export type ShieldOptions = Parameters<ShieldRule['resolve']>[4];
export type ShieldContext = Parameters<ShieldRule['resolve']>[2];
export type LogicRule = Extract<ShieldRule, { getRules(): ShieldRule[] }>;
export type RuleTree = IRules;

/** What rules get as `ctx` (besides shield's own `_shield` cache). */
export interface AuthzContext {
  readonly caller: Caller;
}

export type DenialReason = 'forbidden' | 'invalid-input' | 'rule-error';

export type Outcome = { readonly reason: 'allowed' | DenialReason; readonly error?: Error };
const ALLOWED: Outcome = { reason: 'allowed' };
const FORBIDDEN: Outcome = { reason: 'forbidden' };

/** Rules get no parent at the gateway: there is no data before execution. */
const NO_PARENT = undefined as unknown as object;

export async function decide(
  rule: ShieldRule,
  args: Record<string, unknown>,
  ctx: ShieldContext,
  info: GraphQLResolveInfo,
  options: ShieldOptions,
): Promise<Outcome> {
  let result: Awaited<ReturnType<ShieldRule['resolve']>>;
  try {
    result = await rule.resolve(NO_PARENT, args, ctx, info, options);
  } catch (error) {
    return { reason: 'rule-error', error: error instanceof Error ? error : new Error(String(error)) };
  }
  if (result === true) return ALLOWED;
  if (result instanceof Error) {
    // Input rules (input-rules.ts; shield's `inputRule` answers with yup's ValidationError) name a mistake in what
    // the client sent, not a lack of rights.
    const invalid = result instanceof InvalidInputError || result.name === 'ValidationError';
    return { reason: invalid ? 'invalid-input' : 'forbidden', error: result };
  }
  return FORBIDDEN;
}

export function isShieldRule(value: unknown): value is ShieldRule {
  return typeof value === 'object' && value !== null && typeof (value as { resolve?: unknown }).resolve === 'function';
}

export function isLogicRule(rule: ShieldRule): rule is LogicRule {
  return typeof (rule as { getRules?: unknown }).getRules === 'function';
}

const LOGIC_NAMES: Record<string, string> = {
  RuleAnd: 'and',
  RuleOr: 'or',
  RuleChain: 'chain',
  RuleRace: 'race',
  RuleNot: 'not',
  RuleTrue: 'allow',
  RuleFalse: 'deny',
};

export function describeRule(rule: ShieldRule): string {
  if (!isLogicRule(rule)) return rule.name;
  const name = LOGIC_NAMES[rule.constructor.name] ?? rule.constructor.name;
  const children = rule.getRules();
  return children.length === 0 ? name : `${name}(${children.map(describeRule).join(', ')})`;
}
