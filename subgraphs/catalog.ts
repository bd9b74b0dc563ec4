/**
 * The subgraphs of the platform, in start order, with their default ports. One list, read by the composition
 * script, the launcher, the gateway's default config and the tests, so adding a subgraph is one line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../common/paths';

export const SUBGRAPH_NAMES = ['accounts', 'products', 'inventory', 'reviews'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** Whether a name (from the supergraph, the command line, the environment) is one of the platform's subgraphs. */
export function isSubgraphName(name: string | undefined): name is SubgraphName {
  return (SUBGRAPH_NAMES as readonly (string | undefined)[]).includes(name);
}

export const DEFAULT_SUBGRAPH_PORTS: Record<SubgraphName, number> = {
  accounts: 4001,
  products: 4002,
  inventory: 4003,
  reviews: 4004,
};

export function subgraphSchemaPath(name: SubgraphName): string {
  return join(PROJECT_ROOT, 'subgraphs', name, 'schema.graphql');
}

export function readSubgraphSdl(name: SubgraphName): string {
  return readFileSync(subgraphSchemaPath(name), 'utf8');
}

/**
 * The collections each subgraph owns (its models' collections), for the operator's platform calls that name one
 * (retention). kit/platform's `ownedCollections` reads the same from the running models; a test checks they agree.
 */
export const SUBGRAPH_COLLECTIONS: Record<SubgraphName, readonly string[]> = {
  accounts: ['users'],
  products: ['products'],
  inventory: ['stock'],
  reviews: ['reviews'],
};
