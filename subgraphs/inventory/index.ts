import { parse } from 'graphql';
import { readSubgraphSdl } from '../catalog';
import type { SubgraphDefinition } from '../kit/server';
import { createInventoryLoaders, type InventoryLoaders } from './context';
import { createInventoryModels, type InventoryModels } from './models';
import { permissions } from './permissions';
import { resolvers } from './resolvers';

export const inventory: SubgraphDefinition<InventoryModels, InventoryLoaders> = {
  name: 'inventory',
  typeDefs: parse(readSubgraphSdl('inventory')),
  resolvers,
  models: createInventoryModels,
  createLoaders: createInventoryLoaders,
  permissions,
};
