/**
 * Filter-mode authorization: denied fields are taken out of the document the gateway plans, and come back as `null`
 * with an UNAUTHORIZED_FIELD_OR_TYPE error while the rest of the query is answered.
 *
 * - The rewritten document gets its own query hash. The gateway caches plans by query hash, so under the original
 *   hash it would reuse (or store) a plan that fetches the denied fields.
 * - A selection set left empty takes its parent field out too; the parent is nulled, the errors name the denied
 *   fields. An operation left with nothing to run cannot be filtered (the caller refuses it whole).
 * - Decisions are per field node, not per position: a node denied anywhere (a fragment spread in two places) is
 *   removed everywhere, and every position it had is nulled.
 * - A denied field is nulled where the response lacks it. A non-null field cannot hold null, so null propagates to
 *   the nearest nullable field or list item above, as GraphQL execution itself would do with a field error. The
 *   null is added as the object's last key: restoring the selection's order would mean rebuilding every object on
 *   the way, for an order JSON clients do not read.
 * - Errors carry the path up to the field with `@` for "every item of this list" (the convention of Apollo
 *   Router's authorization errors): they are known before execution, and one error per denied selection keeps
 *   their number bounded by the document, not by the data.
 * - A denied selection under a type condition (`... on A` where B objects can be too) would need `__typename` to
 *   tell which objects to null; such an operation is not filtered (the caller refuses it whole).
 */
import {
  Kind,
  print,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { ErrorCode } from '../errors';
import { LIST_ITEM, queryHashOf, type Denial, type Occurrence, type OperationAnalysis, type PathStep } from './gate';

export interface FieldFilter {
  /** The document to plan and execute instead: the selected operation and the fragments it still uses. */
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly queryHash: string;
  /** Response positions to null after execution, in walk order. */
  readonly nulls: readonly (readonly PathStep[])[];
  /** Already formatted: they are added after Apollo Server formatted (and masked) the execution's errors. */
  readonly errors: readonly GraphQLFormattedError[];
}

/** Filters of one analysis, by the set of denied nodes: a caller's role mix gives the same set every time. */
const FILTERS_PER_ANALYSIS = 8;
const filterCache = new WeakMap<OperationAnalysis, Map<string, FieldFilter | null>>();

/** The filter for these denials, or undefined when the operation cannot be filtered and must be refused whole. */
export function fieldFilterFor(analysis: OperationAnalysis, denials: readonly Denial[]): FieldFilter | undefined {
  const denied = new Set(denials.map((denial) => denial.field.node));
  const key = analysis.fields.flatMap((field, i) => (denied.has(field.node) ? [i] : [])).join(',');

  let filters = filterCache.get(analysis);
  if (!filters) filterCache.set(analysis, (filters = new Map()));
  let filter = filters.get(key);
  if (filter === undefined) {
    filter = buildFieldFilter(analysis, denied) ?? null;
    const oldest = filters.keys().next();
    if (filters.size >= FILTERS_PER_ANALYSIS && !oldest.done) filters.delete(oldest.value);
    filters.set(key, filter);
  }
  return filter ?? undefined;
}

function buildFieldFilter(analysis: OperationAnalysis, denied: ReadonlySet<FieldNode>): FieldFilter | undefined {
  const rewrite = new Rewrite(analysis, denied);
  const selectionSet = rewrite.selectionSet(analysis.operation.selectionSet);
  if (!selectionSet) return undefined;

  const removed = (o: Occurrence) => denied.has(o.field.node) || rewrite.emptied.has(o.field.node);
  const nulls: (readonly PathStep[])[] = [];
  const errors: GraphQLFormattedError[] = [];
  for (const occurrence of analysis.occurrences) {
    if (removed(occurrence) && !hasAncestor(occurrence, removed)) {
      if (occurrence.narrowed) return undefined;
      nulls.push(occurrence.path);
    }
    if (denied.has(occurrence.field.node) && !hasAncestor(occurrence, (o) => denied.has(o.field.node))) {
      const { parentTypeName, fieldName } = occurrence.field;
      errors.push({
        message: `Not authorized to access ${parentTypeName}.${fieldName}`,
        path: occurrence.path.map((step) => step.key),
        extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE },
      });
    }
  }

  const operation: OperationDefinitionNode = { ...analysis.operation, selectionSet };
  const fragments = [...analysis.fragments.values()].flatMap((fragment) => rewrite.keptFragment(fragment) ?? []);
  const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] };
  return { document, operation, queryHash: queryHashOf(print(document)), nulls, errors };
}

function hasAncestor(occurrence: Occurrence, test: (o: Occurrence) => boolean): boolean {
  for (let o = occurrence.parent; o; o = o.parent) if (test(o)) return true;
  return false;
}

/** Rewrites selection sets bottom-up; a fragment is rewritten once, since removal does not depend on position. */
class Rewrite {
  /** Fields taken out because nothing was left to select under them. */
  readonly emptied = new Set<FieldNode>();
  private readonly fragments = new Map<string, SelectionSetNode | null>();

  constructor(
    private readonly analysis: OperationAnalysis,
    private readonly denied: ReadonlySet<FieldNode>,
  ) {}

  selectionSet(set: SelectionSetNode): SelectionSetNode | undefined {
    const selections: SelectionNode[] = [];
    for (const selection of set.selections) {
      // Left out by @skip/@include for these variables: the rewritten document is specific to them anyway.
      if (this.analysis.excluded.has(selection)) continue;
      const kept = this.selection(selection);
      if (kept) selections.push(kept);
    }
    if (selections.length === 0) return undefined;
    const { length } = set.selections;
    return selections.length === length && selections.every((s, i) => s === set.selections[i])
      ? set
      : { ...set, selections };
  }

  /** The fragment as rewritten, if a kept spread uses it. */
  keptFragment(fragment: FragmentDefinitionNode): FragmentDefinitionNode | undefined {
    const selectionSet = this.fragments.get(fragment.name.value);
    return selectionSet ? { ...fragment, selectionSet } : undefined;
  }

  private selection(selection: SelectionNode): SelectionNode | undefined {
    switch (selection.kind) {
      case Kind.FIELD: {
        if (this.denied.has(selection)) return undefined;
        if (!selection.selectionSet) return selection;
        const selectionSet = this.selectionSet(selection.selectionSet);
        if (!selectionSet) {
          this.emptied.add(selection);
          return undefined;
        }
        return selectionSet === selection.selectionSet ? selection : { ...selection, selectionSet };
      }
      case Kind.INLINE_FRAGMENT: {
        const selectionSet = this.selectionSet(selection.selectionSet);
        if (!selectionSet) return undefined;
        return selectionSet === selection.selectionSet ? selection : { ...selection, selectionSet };
      }
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        if (!this.fragments.has(name)) {
          const fragment = this.analysis.fragments.get(name);
          this.fragments.set(name, fragment ? (this.selectionSet(fragment.selectionSet) ?? null) : null);
        }
        return this.fragments.get(name) ? selection : undefined;
      }
    }
  }
}

type ResponseData = Record<string, unknown>;

/**
 * Puts null where the filter removed fields, in place. Returns the data, or null when a null reached the root
 * through non-null fields only.
 */
export function nullDeniedPositions(data: ResponseData | null, nulls: FieldFilter['nulls']): ResponseData | null {
  if (data === null) return null;
  for (const path of nulls) if (mustBeNull(data, path, 0)) return null;
  return data;
}

/** Whether `value` (at `path[i - 1]`) must itself become null because its child cannot hold the null. */
function mustBeNull(value: unknown, path: readonly PathStep[], i: number): boolean {
  const step = path[i];
  if (!step || value === null || typeof value !== 'object') return false;

  if (step.key === LIST_ITEM) {
    if (!Array.isArray(value)) return false;
    for (let j = 0; j < value.length; j++) {
      if (!mustBeNull(value[j], path, i + 1)) continue;
      if (!step.nullable) return true;
      value[j] = null;
    }
    return false;
  }

  const object = value as ResponseData;
  if (i === path.length - 1) {
    // Present when another selection of the same response key was allowed: nothing was removed here.
    if (Object.hasOwn(object, step.key)) return false;
  } else if (!Object.hasOwn(object, step.key) || !mustBeNull(object[step.key], path, i + 1)) {
    return false;
  }
  if (!step.nullable) return true;
  // defineProperty: a response key may be `__proto__`, which plain assignment would treat as the prototype.
  Object.defineProperty(object, step.key, { value: null, enumerable: true, writable: true, configurable: true });
  return false;
}
