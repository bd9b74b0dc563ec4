import type DataLoader from 'dataloader';
import { createLoaderBy } from '../kit/loaders';
import type { SubgraphContext } from '../kit/server';
import type { InventoryModels, StockRecord } from './models';

export interface InventoryLoaders {
  /** Keyed by product id: one query per `_entities` call however many products it references. */
  stockByProductId: DataLoader<string, StockRecord | null>;
}

export function createInventoryLoaders(models: InventoryModels): InventoryLoaders {
  return { stockByProductId: createLoaderBy(models.Stock, 'productId') };
}

export type InventoryContext = SubgraphContext<InventoryModels, InventoryLoaders>;
