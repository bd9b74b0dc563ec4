import type DataLoader from 'dataloader';
import { createLoaderBy, type LoaderOptions } from '../kit/loaders';
import type { SubgraphContext } from '../kit/server';
import type { ProductRecord, ProductsModels } from './models';

export interface ProductsLoaders {
  productById: DataLoader<string, ProductRecord | null>;
}

export function createProductsLoaders(
  models: ProductsModels,
  options?: Pick<LoaderOptions, 'onBatch'>,
): ProductsLoaders {
  return { productById: createLoaderBy(models.Product, '_id', options?.onBatch) };
}

export type ProductsContext = SubgraphContext<ProductsModels, ProductsLoaders>;
