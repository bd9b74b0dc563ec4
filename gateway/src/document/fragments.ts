/**
 * A document's fragment definitions by name — built once per document and shared by every walk of it (limits, the
 * authorization gate, the cost estimator and its actual-cost walk, filter mode, introspection), instead of once per
 * walk per request.
 *
 * Kept in a WeakMap keyed by the parsed document: Apollo Server's document store hands every request of one query
 * text the same `DocumentNode`, so a repeated operation finds its map; a document that is dropped takes its map with
 * it. A rewritten document (filter mode) is a new object and gets its own map. Documents are never mutated in place
 * except for their locations (`dropLocations`), which the map does not hold.
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode } from 'graphql';

export type FragmentMap = ReadonlyMap<string, FragmentDefinitionNode>;

const maps = new WeakMap<DocumentNode, FragmentMap>();

export function fragmentsOf(document: DocumentNode): FragmentMap {
  let fragments = maps.get(document);
  if (!fragments) {
    const built = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) built.set(definition.name.value, definition);
    }
    maps.set(document, (fragments = built));
  }
  return fragments;
}
