/** The four subgraph definitions by name, for the launcher and the seeder. */
import type { SubgraphName } from './catalog';
import { accounts } from './accounts';
import { inventory } from './inventory';
import { products } from './products';
import { reviews } from './reviews';
import { startSubgraph, type RunningSubgraph, type SubgraphOptions } from './kit/server';

export { accounts, inventory, products, reviews };

/** Starts the subgraph called `name`. A switch rather than a map: each definition keeps its own model types. */
export function startNamedSubgraph(name: SubgraphName, options: SubgraphOptions): Promise<RunningSubgraph> {
  switch (name) {
    case 'accounts':
      return startSubgraph(accounts, options);
    case 'products':
      return startSubgraph(products, options);
    case 'inventory':
      return startSubgraph(inventory, options);
    case 'reviews':
      return startSubgraph(reviews, options);
  }
}
