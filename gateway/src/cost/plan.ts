/**
 * What a compiled operation is: the variable-independent part folded into numbers, and a small expression over
 * the request's variables for the rest (slicing arguments, `@skip`/`@include`, weighed argument values) — see
 * compile.ts, which builds it, and evaluate.ts, which values it per request. Variables are valued by the one rule
 * of document/variables.ts, the same one the limits stage checks list bounds with.
 */
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import type { Condition } from '../document/conditions';
import type { VariableRef } from '../document/variables';
import type { CostModel, InputCost } from './model';

/** Apollo Router's documented example value; a list without `@listSize` is assumed to hold this many items. */
export const DEFAULT_LIST_SIZE = 10;
/** Far above real operations (tens to a few hundred visits), low enough to stay around a millisecond of work. */
export const DEFAULT_MAX_VISITS = 20_000;
export const MUTATION_FIELD_WEIGHT = 10;
/** Input values nested deeper than this are refused rather than walked (recursive input types). */
export const MAX_INPUT_DEPTH = 64;

/** The operation is larger, once fragments are expanded, than the estimator agrees to walk. */
export class CostVisitLimitError extends Error {
  constructor(
    readonly visits: number,
    readonly limit: number,
  ) {
    super(`the operation expands to more than ${limit} selections`);
    this.name = 'CostVisitLimitError';
  }
}

/** The operation's arguments or variables cannot be costed (e.g. no slicing argument where one is required). */
export class CostInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostInputError';
  }
}

/** The size `@listSize` gives when a slicing argument is a variable. */
export interface DynamicSize {
  readonly kind: 'size';
  readonly constants: readonly number[];
  readonly variables: readonly VariableRef[];
  readonly assumedSize: number | undefined;
  readonly requireOne: boolean;
  readonly where: string;
}

export type Size = number | DynamicSize | undefined;

/** The first size that has a value, else the fallback. */
export type Count =
  number | { readonly kind: 'first'; readonly sizes: readonly DynamicSize[]; readonly fallback: number };

export type Expr = number | DynamicExpr;
export type DynamicExpr =
  | { readonly kind: 'sum'; readonly constant: number; readonly terms: readonly DynamicExpr[] }
  | { readonly kind: 'max'; readonly options: readonly Expr[] }
  | { readonly kind: 'times'; readonly count: Count; readonly each: Expr; readonly plus: Expr }
  | { readonly kind: 'unless'; readonly conditions: readonly Condition[]; readonly expr: Expr }
  | { readonly kind: 'input'; readonly variable: VariableRef; readonly input: InputCost };

/** An operation compiled for costing: a number when no variable matters, otherwise a small expression. */
export interface CostPlan {
  readonly model: CostModel;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly expr: Expr;
  /** Selections and argument values visited while compiling, fragment spreads expanded. */
  readonly visits: number;
}

export interface CompileOptions {
  readonly defaultListSize?: number;
  readonly maxVisits?: number;
}

/** The size of a list from its slicing arguments' values: the largest, else `assumedSize`. */
export function sizeFrom(
  values: readonly number[],
  assumedSize: number | undefined,
  requireOne: boolean,
  where: string,
): number | undefined {
  if (requireOne && values.length !== 1) {
    throw new CostInputError(`${where} needs exactly one slicing argument, got ${values.length}`);
  }
  return values.length === 0 ? assumedSize : Math.max(...values);
}

/** The innermost item of a list input: a single value where a list is expected is coerced into a list of one. */
export function leafOf(input: InputCost): InputCost {
  let leaf = input;
  while (leaf.item) leaf = leaf.item;
  return leaf;
}
