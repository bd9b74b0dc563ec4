/**
 * The authorization gate's per-document cache: one entry per document and operation (the shared document key),
 * holding what every request of that document reuses — the operation, its fragments, the variables @skip/@include
 * read — and, nested, the analyses by @skip/@include values and the decision plans by variable values. Bounded in
 * estimated heap bytes (gate-memory.ts) as a whole, and per document by count, so that one document whose variables
 * change on every request (a page cursor) cannot crowd out the others.
 */
import { getOperationAST, type DocumentNode, type OperationDefinitionNode, type FragmentDefinitionNode } from 'graphql';
import { NestedLru, createByteBoundedCache, type ByteBoundedCache } from '../cache';
import { fragmentsOf } from '../document/fragments';
import { ErrorCode, gatewayError } from '../errors';
import { directiveVariablesOf, type OperationAnalysis } from './analysis';
import type { DecisionPlan } from './decision-plan';
import { analysisBytes, decisionPlanBytes, documentEntryBytes } from './gate-memory';

export const DEFAULT_ANALYSIS_CACHE_SIZE = 1_000;
export const DEFAULT_ANALYSIS_CACHE_BYTES = 16 * 1_048_576;
/** Variable combinations of one document (each @skip/@include variable doubles them) kept per document. */
const ANALYSES_PER_DOCUMENT = 8;
/** Variable values of one document whose decision plan is kept (a page cursor changes them on every request). */
const PLANS_PER_DOCUMENT = 16;

export interface DocumentEntry {
  readonly cacheKey: string;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  /** Variables some @skip/@include reads: only their values change what the walk reaches. */
  readonly directiveVariables: readonly string[];
  readonly analyses: NestedLru<OperationAnalysis>;
  /** Keyed by the request's variable values (`stableKey`); see `decisionPlan` in gate.ts. */
  readonly plans: NestedLru<DecisionPlan>;
}

export function createDocumentCache(options: {
  maxBytes?: number;
  maxEntries?: number;
}): ByteBoundedCache<DocumentEntry> {
  return createByteBoundedCache({
    name: 'authorization',
    maxBytes: options.maxBytes ?? DEFAULT_ANALYSIS_CACHE_BYTES,
    maxEntries: options.maxEntries ?? DEFAULT_ANALYSIS_CACHE_SIZE,
    // Measured again each time an analysis or a plan is added to the entry (the gate sets the entry again).
    sizeOf: (entry) => {
      let bytes = documentEntryBytes(entry.document);
      for (const [, analysis] of entry.analyses.entries()) bytes += analysisBytes(analysis);
      for (const [key, plan] of entry.plans.entries()) bytes += decisionPlanBytes(plan, key);
      return bytes;
    },
  });
}

/** A new entry for the document's operation `operationName`; refuses a document without that operation. */
export function newDocumentEntry(
  cacheKey: string,
  document: DocumentNode,
  operationName: string | null,
): DocumentEntry {
  const operation = getOperationAST(document, operationName);
  if (!operation) throw gatewayError(ErrorCode.OPERATION_RESOLUTION_FAILURE, 'No operation to authorize.');
  return {
    cacheKey,
    document,
    operation,
    fragments: fragmentsOf(document),
    directiveVariables: directiveVariablesOf(document),
    analyses: new NestedLru(ANALYSES_PER_DOCUMENT),
    plans: new NestedLru(PLANS_PER_DOCUMENT),
  };
}
