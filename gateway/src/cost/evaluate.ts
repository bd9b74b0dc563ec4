/**
 * Evaluating a compiled operation (plan.ts) with one request's variables: only the expression's dynamic part runs,
 * each variable valued by the one rule of document/variables.ts and each `@skip`/`@include` read by
 * document/conditions.ts.
 */
import { isSkipped } from '../document/conditions';
import { variableValue, type Variables } from '../document/variables';
import type { CostModel, InputCost } from './model';
import {
  CostInputError,
  MAX_INPUT_DEPTH,
  leafOf,
  sizeFrom,
  type Count,
  type CostPlan,
  type DynamicSize,
  type Expr,
} from './plan';

function evaluateSize(size: DynamicSize, variables: Variables): number | undefined {
  const values = [...size.constants];
  for (const ref of size.variables) {
    const value = variableValue(ref, variables);
    if (Number.isSafeInteger(value)) values.push(Math.max(0, value as number));
  }
  return sizeFrom(values, size.assumedSize, size.requireOne, size.where);
}

function evaluateCount(count: Count, variables: Variables): number {
  if (typeof count === 'number') return count;
  for (const size of count.sizes) {
    const value = evaluateSize(size, variables);
    if (value !== undefined) return value;
  }
  return count.fallback;
}

export function evaluate(expr: Expr, model: CostModel, variables: Variables): number {
  if (typeof expr === 'number') return expr;
  switch (expr.kind) {
    case 'sum':
      return expr.terms.reduce((total, term) => total + evaluate(term, model, variables), expr.constant);
    case 'max':
      return Math.max(...expr.options.map((option) => evaluate(option, model, variables)));
    case 'times':
      return (
        evaluateCount(expr.count, variables) * evaluate(expr.each, model, variables) +
        evaluate(expr.plus, model, variables)
      );
    case 'unless':
      return isSkipped(expr.conditions, variables) ? 0 : evaluate(expr.expr, model, variables);
    case 'input':
      return inputCost(model, variableValue(expr.variable, variables), expr.input, 0);
  }
}

/** The cost of a variable's value, by the same rules as a literal (Router's `score_variable`). */
function inputCost(model: CostModel, value: unknown, input: InputCost, depth: number): number {
  // Recursive input types would otherwise let a deeply nested JSON value exhaust the stack.
  if (depth > MAX_INPUT_DEPTH) throw new CostInputError('a variable is nested too deeply');
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) {
    // An array where no list is expected fails coercion later; until then it costs what a scalar would.
    const item = input.item;
    if (!item) return input.weight ?? 0;
    return value.reduce<number>(
      (total, element) => total + inputCost(model, element, item, depth + 1),
      input.weight ?? 0,
    );
  }
  const leaf = leafOf(input);
  const fields = leaf.inputObject === undefined ? undefined : model.inputObjects.get(leaf.inputObject);
  if (typeof value !== 'object' || !fields) return leaf.weight ?? 0;
  let total = leaf.weight ?? 1;
  for (const [key, element] of Object.entries(value)) {
    const definition = fields.get(key);
    if (definition) total += inputCost(model, element, definition, depth + 1);
  }
  return total;
}

/** The estimate for one request: the plan with the request's variables applied. */
export function evaluateCostPlan(plan: CostPlan, variables: Variables): number {
  return evaluate(plan.expr, plan.model, variables);
}
