/**
 * Pricing a document without executing it: what `tollgate cost` (client CI) — and any endpoint that shows a
 * developer the estimate before running — needs. The document is parsed, validated against the API schema, its
 * operation picked (by name when it holds several), its variables checked against their definitions, and then
 * priced by the gateway's own estimator (estimate.ts) with the cost stage's floor (pipeline/cost.ts): the number the
 * gateway would compare with the plan's `maxCost` for the same document and variables.
 *
 * Only cost is priced here: the plan's other limits (depth, aliases, …) and authorization are the gateway's, which
 * still checks them on every request.
 */
import {
  Kind,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { queryHashOf } from '../document/key';
import { MIN_OPERATION_COST } from '../pipeline/cost';
import { CostInputError, CostVisitLimitError, type CostEstimator } from './estimate';

export interface PriceOptions {
  /** The API schema clients see (schema/api-schema.ts), for validation and variable coercion. */
  readonly schema: GraphQLSchema;
  /** The estimator, over the cost model of the same supergraph. */
  readonly estimator: CostEstimator;
  /** The document's text. */
  readonly source: string;
  /** Which operation to price; required when the document has more than one. */
  readonly operationName?: string;
  /** The request's variables, as a client would send them. */
  readonly variables?: Readonly<Record<string, unknown>>;
  /** The plan's `maxCost`; the result says whether the price is above it. */
  readonly maximum?: number;
}

/** Why a document could not be priced. `operation`: the caller must name one (or named one that is not there). */
export type PriceProblemKind = 'syntax' | 'validation' | 'operation' | 'variables' | 'too-large';

export type PriceResult =
  | {
      readonly ok: true;
      readonly operationName: string | null;
      readonly operationType: OperationDefinitionNode['operation'];
      /** The estimate, floored as the cost stage floors it. */
      readonly cost: number;
      readonly maximum?: number;
      /** `cost > maximum`: the gateway refuses it with COST_ESTIMATED_TOO_EXPENSIVE (in enforce mode). */
      readonly overMaximum?: boolean;
    }
  | { readonly ok: false; readonly kind: PriceProblemKind; readonly problems: readonly string[] };

/** A document read from a file may be anything: parsing stops past this many tokens, as a request's would. */
export const MAX_PRICE_TOKENS = 100_000;
/** At most this many validation errors are listed. */
const MAX_ERRORS = 20;

const problem = (kind: PriceProblemKind, problems: string[]): PriceResult => ({ ok: false, kind, problems });

function operationsOf(document: DocumentNode): OperationDefinitionNode[] {
  return document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
}

/** The operation to price, or why there is none: GraphQL's rule for choosing one (GetOperation). */
function pickOperation(
  operations: OperationDefinitionNode[],
  name: string | undefined,
): OperationDefinitionNode | string {
  const names = operations.map((operation) => operation.name?.value ?? '(anonymous)').join(', ');
  if (name === undefined) {
    if (operations.length === 1) return operations[0]!;
    return operations.length === 0
      ? 'the document has no operation'
      : `the document has ${operations.length} operations (${names}): name the one to price`;
  }
  const found = operations.find((operation) => operation.name?.value === name);
  return found ?? `the document has no operation ${name}; its operations are ${names}`;
}

export function priceDocument(options: PriceOptions): PriceResult {
  const { schema, estimator, source } = options;
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: MAX_PRICE_TOKENS });
  } catch (error) {
    return problem('syntax', [error instanceof Error ? error.message : String(error)]);
  }
  const errors = validate(schema, document, specifiedRules, { maxErrors: MAX_ERRORS });
  if (errors.length > 0)
    return problem(
      'validation',
      errors.map((error) => error.message),
    );
  const operation = pickOperation(operationsOf(document), options.operationName);
  if (typeof operation === 'string') return problem('operation', [operation]);
  const variables = options.variables ?? {};
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, {
    maxErrors: MAX_ERRORS,
  });
  if (coerced.errors)
    return problem(
      'variables',
      coerced.errors.map((error) => error.message),
    );
  const operationName = operation.name?.value ?? null;
  let estimated: number;
  try {
    // The raw variables, as the cost stage gets them from the request (document/variables.ts applies defaults).
    estimated = estimator.estimate({
      document,
      operation,
      operationName,
      queryHash: queryHashOf(source),
      variables,
    }).cost;
  } catch (error) {
    if (error instanceof CostVisitLimitError) return problem('too-large', [error.message]);
    if (error instanceof CostInputError) return problem('variables', [error.message]);
    throw error;
  }
  const cost = Math.max(estimated, MIN_OPERATION_COST);
  const { maximum } = options;
  return {
    ok: true,
    operationName,
    operationType: operation.operation,
    cost,
    ...(maximum === undefined ? {} : { maximum, overMaximum: cost > maximum }),
  };
}
