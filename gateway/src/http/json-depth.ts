/**
 * A bound on how deeply the JSON a client sends is nested, checked right after the body is parsed and before
 * anything walks it. `JSON.parse` is iterative in V8 (a body nested 100,000 levels parses), but most code that walks
 * a value afterwards recurses — `JSON.stringify` (the gate's variable key), graphql-js's value coercion, loggers —
 * and throws `RangeError: Maximum call stack size exceeded` a few thousand levels down, which Apollo Server answers
 * as a 500. So every JSON field of the body (`variables` and `extensions` above all, declared variables or not) is
 * measured with an explicit stack (body-bounds.ts refuses a body over the bound with 400 BAD_USER_INPUT), and
 * recursive walkers guard themselves with it too (authz/gate.ts, `stableKey`).
 */

/**
 * The ceiling of every nesting bound a deployment may configure (config.ts): recursive walkers — JSON.stringify
 * with a replacer, graphql-js's parser — use a few stack frames per level and stay far from the stack's end here.
 */
export const MAX_INPUT_NESTING = 1_000;

/**
 * Whether `value` is nested more than `maxDepth` levels of objects and arrays (`1` and `"a"` are 0, `{}` and `[1]`
 * are 1, `{"a":[1]}` is 2). Iterative, visits each value at most once and stops at the first value past the bound,
 * so it costs no more than the body took to parse and never recurses however deep the input is.
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  // Two parallel stacks (values, their depths) rather than an array of pairs: no allocation per value.
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
