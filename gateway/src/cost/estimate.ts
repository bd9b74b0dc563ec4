/**
 * Static cost of an operation, after the IBM GraphQL cost specification with Apollo Router's defaults, and the
 * actual cost of the response it produced.
 *
 * Weights: a field of object, interface or union type costs 1, of scalar or enum type 0, unless `@cost` on the
 * field (or on its type) says otherwise; `__typename` is free. A list field costs its size times what one item
 * costs; the size comes from the `@listSize` of the field, or of its parent when the field is one of the parent's
 * `sizedFields` (a connection's `edges`), else the configured default. Slicing arguments may be literals,
 * variables, or the argument's default. Argument values add the weights of their arguments and input fields
 * (an input object counts 1 unless weighed). Each root field of a mutation adds 10.
 *
 * Where this deliberately differs from Apollo Router (1.x/2.x static estimator):
 * - Router adds 10 once per mutation operation; this adds 10 per mutation root field, because each is a separate
 *   side effect run in series. A one-field mutation costs the same in both.
 * - Router sums the fragments under an abstract type; a response object has exactly one concrete type, so this takes
 *   the maximum over the possible types of everything that applies to that type. Still an upper bound, tighter.
 *   The same maximum is taken, fragments or not, under an interface some implementation of which weighs a field
 *   differently (Router uses the interface's weights there, which can underestimate).
 * - Router adds the cost of `@requires` selections; this does not (the gateway fetches them, but they are fields of
 *   the same entity already weighed by the entity's own fields).
 * Like Router, a fragment spread twice is counted twice and equal selections are not merged: an estimate is an
 * upper bound, and the actual cost computed from the response refunds the difference.
 *
 * Work is bounded: compiling an operation counts every selection and argument value it visits, fragment spreads
 * expanded, and gives up past `maxVisits` — a fragment bomb is refused after that many steps instead of after 2^n.
 * The variable-independent part of an operation is folded into numbers once and cached per query hash and operation
 * name; what depends on variables (slicing arguments, `@skip`/`@include`, weighed argument values) stays a small
 * expression evaluated per request.
 */
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import { createByteBoundedCache, documentBytes, type CacheStats } from '../cache';
import { documentKey } from '../document/key';
import type { Variables } from '../document/variables';
import { compileCostPlan } from './compile';
import { evaluateCostPlan } from './evaluate';
import type { CostModel } from './model';
import { CostInputError, CostVisitLimitError, type CompileOptions, type CostPlan } from './plan';

// The estimator's parts, one module each; their public API is re-exported here.
export { createCostModel, type CostModel, type FieldCostInfo, type InputCost, type TypeCostInfo } from './model';
export {
  CostInputError,
  CostVisitLimitError,
  DEFAULT_LIST_SIZE,
  DEFAULT_MAX_VISITS,
  MUTATION_FIELD_WEIGHT,
  type CompileOptions,
  type CostPlan,
} from './plan';
export { compileCostPlan } from './compile';
export { evaluateCostPlan } from './evaluate';
export { actualCost } from './actual';

// --- the per-gateway estimator, with its cache of compiled operations ---

export interface CostEstimatorOptions extends CompileOptions {
  readonly model: CostModel;
  /** Compiled operations kept, least recently used dropped first. */
  readonly cacheEntries?: number;
  /** Estimated heap bytes the compiled operations (and their documents) may take. */
  readonly cacheBytes?: number;
}

/** What an estimate needs of a request; a `ResolvedOperation` is one. */
export interface EstimateRequest {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | null;
  /** SHA-256 of the query text: equal hashes mean equal documents. */
  readonly queryHash: string;
  readonly variables: Variables;
}

export interface CostEstimate {
  readonly cost: number;
  readonly plan: CostPlan;
  /** Whether the compiled operation came from the cache. */
  readonly cached: boolean;
}

export interface CostEstimator {
  readonly model: CostModel;
  /** Throws `CostVisitLimitError` or `CostInputError`; both are remembered, so a refused document stays cheap. */
  estimate(request: EstimateRequest): CostEstimate;
  /** The cache of compiled operations, in estimated bytes. */
  cacheMemory(): CacheStats;
}

const DEFAULT_CACHE_BYTES = 8 * 1_048_576;
/** A remembered refusal: the error and its captured stack. */
const ERROR_BYTES = 2_048;
/** One visited selection's share of the folded expression. */
const VISIT_BYTES = 48;

/** What a cached compilation keeps alive: the document it was compiled from, and the folded expression. */
function costEntryBytes(entry: CostPlan | CostVisitLimitError | CostInputError): number {
  return entry instanceof Error ? ERROR_BYTES : documentBytes(entry.document) + entry.visits * VISIT_BYTES;
}

export function createCostEstimator(options: CostEstimatorOptions): CostEstimator {
  const cache = createByteBoundedCache<CostPlan | CostVisitLimitError | CostInputError>({
    name: 'cost',
    maxBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
    maxEntries: options.cacheEntries ?? 1_000,
    sizeOf: costEntryBytes,
  });
  return {
    model: options.model,
    estimate(request) {
      const key = documentKey(request.queryHash, request.operationName);
      let entry = cache.get(key);
      const cached = entry !== undefined;
      if (entry === undefined) {
        try {
          entry = compileCostPlan(options.model, request.document, request.operation, options);
        } catch (error) {
          if (!(error instanceof CostVisitLimitError || error instanceof CostInputError)) throw error;
          entry = error;
        }
        cache.set(key, entry);
      }
      if (entry instanceof Error) throw entry;
      return { cost: evaluateCostPlan(entry, request.variables), plan: entry, cached };
    },
    cacheMemory: () => cache.stats(),
  };
}
