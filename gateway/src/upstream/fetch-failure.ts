/**
 * What a failed subgraph fetch answers the gateway with, so the client learns which nulls the failure caused.
 *
 * A data source that throws gives @apollo/gateway an error it reports with no path at all. One that answers
 * `{ data: null, errors }` instead has each error's `path` rewritten by the gateway's executor to the real response
 * path (executeQueryPlan.ts, `makeLazyErrorPathGenerator`): a root fetch's `[alias]` is prefixed with where the
 * fetch sits, and an entity fetch's `['_entities', i, …]` becomes the path of the i-th entity the fetch was for.
 * So the errors here name, per response key of the subgraph operation, the field the failure left null: root fields
 * by alias, and for `_entities` each representation's fields (selected for its `__typename`).
 *
 * Bounded: at most MAX_FAILURE_PATHS errors carry a path; a fetch that left more fields null adds one error without
 * a path, which tells the client the list is not complete. A fetch of 100 products' stock that times out thus
 * answers 11 errors, not 100, and costs the same whatever the list's length.
 *
 * The errors are marked with FETCH_FAILURE, a symbol a subgraph cannot put in its JSON: the gateway tags them with
 * `serviceName` like any subgraph error, and the mask (mask-errors.ts) keeps their code and reason only because
 * the mark says the gateway wrote them.
 */
import { Kind, parse, type DocumentNode, type GraphQLFormattedError, type SelectionSetNode } from 'graphql';
import type { ErrorCode, DownstreamReason } from '../errors';

/** At most this many errors of one failed fetch carry a path; the rest are summed up in one error without. */
export const MAX_FAILURE_PATHS = 10;

/** Marks an error this gateway wrote for a failed fetch, as opposed to one a subgraph returned. */
export const FETCH_FAILURE: unique symbol = Symbol('tollgate.fetchFailure');

export interface FetchFailure {
  code: typeof ErrorCode.DOWNSTREAM_SERVICE_ERROR | typeof ErrorCode.SUBGRAPH_TIMEOUT;
  message: string;
  reason?: DownstreamReason;
}

/** The error extensions of a failed fetch: its code, its reason, and the mark. */
export type FetchFailureExtensions = { code: FetchFailure['code']; reason?: DownstreamReason; [FETCH_FAILURE]: true };

export interface FailedFetchResult {
  data: null;
  errors: (GraphQLFormattedError & { extensions: FetchFailureExtensions })[];
}

/** Whether an error's extensions carry the mark of a failed fetch. */
export function isFetchFailure(extensions: unknown): extensions is FetchFailureExtensions {
  return (
    typeof extensions === 'object' &&
    extensions !== null &&
    (extensions as Partial<FetchFailureExtensions>)[FETCH_FAILURE] === true
  );
}

/**
 * The answer standing for a fetch of `query` that failed: `data: null`, and one error per field it left null (up
 * to the bound). A query it cannot read gets one error without a path, as a thrown error would.
 */
export function failedFetchResult(
  query: string,
  variables: Readonly<Record<string, unknown>> | undefined,
  failure: FetchFailure,
): FailedFetchResult {
  const extensions: FetchFailureExtensions = {
    code: failure.code,
    ...(failure.reason ? { reason: failure.reason } : {}),
    [FETCH_FAILURE]: true,
  };
  const error = (path?: (string | number)[]) => ({ message: failure.message, ...(path ? { path } : {}), extensions });
  const paths = failurePaths(query, variables);
  const errors = paths.listed.map(error);
  if (paths.more || errors.length === 0) errors.push(error());
  return { data: null, errors };
}

/** What a subgraph operation selects at its top, as far as paths need: its root fields, or its entity fields. */
type OperationShape =
  | { kind: 'root'; fields: readonly string[] }
  | { kind: 'entities'; common: readonly string[]; byType: ReadonlyMap<string, readonly string[]> }
  | { kind: 'unknown' };

function failurePaths(
  query: string,
  variables: Readonly<Record<string, unknown>> | undefined,
): { listed: (string | number)[][]; more: boolean } {
  const shape = shapeOf(query);
  const listed: (string | number)[][] = [];
  const add = (path: (string | number)[]): boolean => {
    if (listed.length === MAX_FAILURE_PATHS) return false;
    listed.push(path);
    return true;
  };
  if (shape.kind === 'root') {
    for (const field of shape.fields) if (!add([field])) return { listed, more: true };
  } else if (shape.kind === 'entities') {
    const representations = variables?.representations;
    if (!Array.isArray(representations)) return { listed, more: false };
    for (const [index, representation] of representations.entries()) {
      const typename =
        typeof representation === 'object' && representation !== null
          ? (representation as { __typename?: unknown }).__typename
          : undefined;
      const ofType = typeof typename === 'string' ? (shape.byType.get(typename) ?? []) : [];
      const fields = [...shape.common, ...ofType];
      if (fields.length === 0 && !add(['_entities', index])) return { listed, more: true };
      for (const field of fields) if (!add(['_entities', index, field])) return { listed, more: true };
    }
  }
  return { listed, more: false };
}

/**
 * The gateway sends the same few plan queries over and over, and when a subgraph is down every one of them fails:
 * each shape is read once. Oldest entries go first when full.
 */
const SHAPE_CACHE_SIZE = 1_000;
const shapes = new Map<string, OperationShape>();

function shapeOf(query: string): OperationShape {
  let shape = shapes.get(query);
  if (shape === undefined) {
    shape = readShape(query);
    if (shapes.size >= SHAPE_CACHE_SIZE) {
      const oldest = shapes.keys().next();
      if (!oldest.done) shapes.delete(oldest.value);
    }
    shapes.set(query, shape);
  }
  return shape;
}

function readShape(query: string): OperationShape {
  let document: DocumentNode;
  try {
    // The planner wrote this query from a document that passed the gateway's limits; the catch is for the
    // unexpected, which must still leave the client a coded error.
    document = parse(query, { noLocation: true });
  } catch {
    return { kind: 'unknown' };
  }
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (!operation) return { kind: 'unknown' };
  const fragments = new Map<string, { type: string; selectionSet: SelectionSetNode }>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, {
        type: definition.typeCondition.name.value,
        selectionSet: definition.selectionSet,
      });
    }
  }
  const roots = new Map<string | undefined, string[]>();
  collectFields(operation.selectionSet, undefined, roots, fragments, new Set());
  // At the root, a type condition can only name the root type itself: every group is a root field.
  const rootFields = [...new Set([...roots.values()].flat())];
  // The planner asks for entities as `_entities(representations: $representations)`, alone at the top.
  const entities = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD && s.name.value === '_entities');
  if (!entities || entities.kind !== Kind.FIELD || !entities.selectionSet) return { kind: 'root', fields: rootFields };
  const byType = new Map<string | undefined, string[]>();
  collectFields(entities.selectionSet, undefined, byType, fragments, new Set());
  const common = byType.get(undefined) ?? [];
  byType.delete(undefined);
  return { kind: 'entities', common, byType: byType as Map<string, string[]> };
}

/**
 * Response names of the fields of a selection set, grouped by the type condition they sit under (`undefined` for
 * none), `__typename` left out: it is never what a failure leaves null. Each name once per group.
 */
function collectFields(
  selectionSet: SelectionSetNode,
  type: string | undefined,
  out: Map<string | undefined, string[]>,
  fragments: ReadonlyMap<string, { type: string; selectionSet: SelectionSetNode }>,
  visiting: Set<string>,
): void {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const name = selection.alias?.value ?? selection.name.value;
      if (name === '__typename') continue;
      const group = out.get(type) ?? [];
      if (!group.includes(name)) group.push(name);
      out.set(type, group);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      collectFields(selection.selectionSet, selection.typeCondition?.name.value ?? type, out, fragments, visiting);
    } else {
      const fragment = fragments.get(selection.name.value);
      // A fragment that spreads itself is invalid GraphQL; the set only keeps such a query from looping here.
      if (!fragment || visiting.has(selection.name.value)) continue;
      visiting.add(selection.name.value);
      collectFields(fragment.selectionSet, fragment.type, out, fragments, visiting);
      visiting.delete(selection.name.value);
    }
  }
}
