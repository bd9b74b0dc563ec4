import type DataLoader from 'dataloader';
import { createLoaderBy, type LoaderOptions } from '../kit/loaders';
import type { SubgraphContext } from '../kit/server';
import type { InventoryModels, StockRecord } from './models';

export interface InventoryLoaders {
  /** Keyed by product id: one query per `_entities` call however many products it references. */
  stockByProductId: DataLoader<string, StockRecord | null>;
}

export function createInventoryLoaders(
  models: InventoryModels,
  options?: Pick<LoaderOptions, 'onBatch'>,
): InventoryLoaders {
  return { stockByProductId: createLoaderBy(models.Stock, 'productId', options?.onBatch) };
}

export type InventoryContext = SubgraphContext<InventoryModels, InventoryLoaders>;
