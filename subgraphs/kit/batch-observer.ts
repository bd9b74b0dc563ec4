/**
 * DataLoader batch sizes for the subgraph's metrics (kit/metrics.ts, `dataloader_batch_size`): the kit's loaders
 * wrap their batch function with `observedBatch` when the server gives them an observer, and run it bare otherwise.
 */
import type DataLoader from 'dataloader';

/** Told the size of every batch a loader runs. */
export interface BatchObserver {
  observe(loader: string, size: number): void;
}

/** `batch`, telling `observer` (if any) each batch's size under `name` (`Model.path`). */
export function observedBatch<K, V>(
  batch: DataLoader.BatchLoadFn<K, V>,
  name: string,
  observer: BatchObserver | undefined,
): DataLoader.BatchLoadFn<K, V> {
  if (!observer) return batch;
  return (keys) => {
    observer.observe(name, keys.length);
    return batch(keys);
  };
}
