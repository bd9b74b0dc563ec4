import { parse } from 'graphql';
import { readSubgraphSdl } from '../catalog';
import type { SubgraphDefinition } from '../kit/server';
import { createProductsLoaders, type ProductsLoaders } from './context';
import { createProductsModels, type ProductsModels } from './models';
import { permissions } from './permissions';
import { resolvers } from './resolvers';

export const products: SubgraphDefinition<ProductsModels, ProductsLoaders> = {
  name: 'products',
  typeDefs: parse(readSubgraphSdl('products')),
  resolvers,
  models: createProductsModels,
  createLoaders: createProductsLoaders,
  permissions,
  platform: { agedCollections: ['products'] },
};
