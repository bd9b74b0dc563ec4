/**
 * The document paths a selection set needs, so that a query reads only what the resolvers will use (a review's
 * `body` can be 2 000 characters; a page listing ratings need not carry it from the database).
 */
import type { FieldNode, FragmentDefinitionNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/** Response field names selected at `path` below the resolved field (e.g. `['edges', 'node']` of a connection). */
function fieldsAt(info: GraphQLResolveInfo, path: readonly string[]): Set<string> {
  let level: SelectionSetNode[] = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  const names = new Set<string>();
  const visit = (sets: SelectionSetNode[], onField: (field: FieldNode) => void) => {
    const seen = new Set<FragmentDefinitionNode>();
    const walk = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (selection.kind === 'Field') onField(selection);
        else if (selection.kind === 'InlineFragment') walk(selection.selectionSet);
        else {
          const fragment = info.fragments[selection.name.value];
          // A fragment spread twice is walked once: graphql-js has already refused cycles.
          if (fragment && !seen.has(fragment)) {
            seen.add(fragment);
            walk(fragment.selectionSet);
          }
        }
      }
    };
    for (const set of sets) walk(set);
  };
  for (const step of path) {
    const next: SelectionSetNode[] = [];
    visit(level, (field) => {
      if (field.name.value === step && field.selectionSet) next.push(field.selectionSet);
    });
    level = next;
  }
  visit(level, (field) => names.add(field.name.value));
  return names;
}

/**
 * The document paths for the fields selected at `path`, through `paths` (GraphQL field → document path, `null` for
 * fields that need none, such as `__typename`). Undefined — read whole documents — when a selected field is not in
 * the map: a resolver added later must not silently get a document without its data.
 */
export function selectedDocumentPaths(
  info: GraphQLResolveInfo,
  path: readonly string[],
  paths: Readonly<Record<string, string | null>>,
): string[] | undefined {
  const out = new Set<string>();
  for (const name of fieldsAt(info, path)) {
    if (!Object.hasOwn(paths, name)) return undefined;
    const documentPath = paths[name];
    if (documentPath) out.add(documentPath);
  }
  return [...out].sort();
}
