import type DataLoader from 'dataloader';
import { createLoaderBy } from '../kit/loaders';
import type { SubgraphContext } from '../kit/server';
import type { ProductRecord, ProductsModels } from './models';

export interface ProductsLoaders {
  productById: DataLoader<string, ProductRecord | null>;
}

export function createProductsLoaders(models: ProductsModels): ProductsLoaders {
  return { productById: createLoaderBy(models.Product, '_id') };
}

export type ProductsContext = SubgraphContext<ProductsModels, ProductsLoaders>;
