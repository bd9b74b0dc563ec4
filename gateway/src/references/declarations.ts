/**
 * Which arguments name an entity that another subgraph owns. A mutation that takes such an id must not write
 * anything for an id that is not an existing entity of the caller's tenant: the gateway asks the owner first
 * (references/check.ts), and refuses with NOT_FOUND when the owner does not know it.
 *
 * A new reference in the schema is one line under `arguments`; a new entity type one line under `owners`.
 * Startup fails when a line does not match the supergraph (references/plan.ts), so a renamed argument cannot
 * silently stop being checked.
 */
import type { SubgraphName } from '../../../subgraphs/catalog';

export interface ReferencePolicy {
  /**
   * The subgraph whose `_entities` says whether an entity exists. Several subgraphs may resolve a `Product` (any
   * id is a valid key to inventory or reviews); only the owner knows which ids are real.
   */
  readonly owners: Readonly<Record<string, SubgraphName>>;
  /**
   * `Type.field.argument[.inputField…]` → the entity type whose `id` the value is. `Type` is a root operation
   * type; the value must be an `ID` (not a list).
   */
  readonly arguments: Readonly<Record<string, string>>;
}

export const TOLLGATE_REFERENCES: ReferencePolicy = {
  owners: {
    Product: 'products',
    User: 'accounts',
  },
  arguments: {
    'Mutation.adjustStock.productId': 'Product',
    'Mutation.addReview.input.productId': 'Product',
  },
};

/** No references to check: for deployments serving another supergraph until they declare theirs. */
export const NO_REFERENCES: ReferencePolicy = { owners: {}, arguments: {} };
