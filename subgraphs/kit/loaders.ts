/**
 * DataLoaders, created per request by each subgraph's context function and never shared between requests: their
 * cache holds one tenant's documents, and the tenant plugin reads the tenant when the batch query runs.
 */
import DataLoader from 'dataloader';
import mongoose, { Types, type Model } from 'mongoose';
import { isObjectIdHex } from '../../common/ids';
import { observedBatch, type BatchObserver } from './batch-observer';
import { createBatchedConnectionLoader, type BatchedConnectionKey } from './connection-loader';
import { paginate, type Connection, type Page, type SortOrder } from './pagination';

/**
 * How connection fields read their pages: `batched` (connection-loader.ts, one `find` per batch) or `per-parent`
 * (one `find` per parent, the loader before issue 20), kept so the bench can compare both in one run.
 */
export type ConnectionLoaderMode = 'batched' | 'per-parent';
export const CONNECTION_LOADER_MODES: readonly ConnectionLoaderMode[] = ['batched', 'per-parent'];

/** What the server passes to every subgraph's `createLoaders`. */
export interface LoaderOptions {
  connectionLoader: ConnectionLoaderMode;
  /** Set when the subgraph keeps metrics; the loaders hand it their batches. */
  onBatch?: BatchObserver;
}

export const DEFAULT_LOADER_OPTIONS: Readonly<LoaderOptions> = Object.freeze({ connectionLoader: 'batched' });

/** Bounds the `$in` list of one batch; a larger batch is split into several queries. */
const MAX_BATCH = 1000;

/**
 * Loads documents by an ObjectId-valued path (`_id`, or `productId` for stock): every key asked for in one tick
 * becomes ONE `find({ tenantId, [path]: { $in } })`. Keys that are not 24-hex ids resolve to null without a query,
 * exactly like ids of other tenants' documents.
 */
export function createLoaderBy<T extends object>(
  model: Model<T>,
  path: string,
  onBatch?: BatchObserver,
): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(
    observedBatch(
      async (keys: readonly string[]) => {
        const ids = [...new Set(keys.filter(isObjectIdHex))];
        if (ids.length === 0) return keys.map(() => null);
        const docs = (await model
          .find({ [path]: mongoose.trusted({ $in: ids.map((id) => new Types.ObjectId(id)) }) })
          .lean()
          .exec()) as T[];
        const byKey = new Map<string, T>();
        for (const doc of docs) byKey.set(String((doc as Record<string, unknown>)[path]), doc);
        return keys.map((key) => byKey.get(key) ?? null);
      },
      `${model.modelName}.${path}`,
      onBatch,
    ),
    { maxBatchSize: MAX_BATCH },
  );
}

export interface ConnectionKey {
  /** The id the connection hangs off (a product or an author), as given by the gateway. */
  id: string;
  page: Page;
}

/**
 * One page of children per parent (`Product.reviews`, `User.reviews`), one `find` per parent, in parallel: the
 * `per-parent` mode. The `batched` mode (connection-loader.ts) reads a whole batch with one `find`.
 */
export function createConnectionLoader<T extends { _id: Types.ObjectId }>(
  model: Model<T>,
  parentPath: string,
  order: SortOrder,
  onBatch?: BatchObserver,
): DataLoader<ConnectionKey, Connection<T>, string> {
  return new DataLoader<ConnectionKey, Connection<T>, string>(
    observedBatch(
      (keys: readonly ConnectionKey[]) =>
        Promise.all(
          keys.map((key) =>
            isObjectIdHex(key.id)
              ? paginate(model, { [parentPath]: new Types.ObjectId(key.id) }, key.page, order)
              : { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
          ),
        ),
      `${model.modelName}.${parentPath}`,
      onBatch,
    ),
    {
      cacheKeyFn: (key) => `${key.id}:${key.page.first}:${key.page.after?.toHexString() ?? ''}`,
      maxBatchSize: MAX_BATCH,
    },
  );
}

/** The connection loader of `mode`; both take the same keys and answer the same pages. */
export function createPageLoader<T extends { _id: Types.ObjectId }>(
  model: Model<T>,
  parentPath: string,
  order: SortOrder,
  mode: ConnectionLoaderMode,
  onBatch?: BatchObserver,
): DataLoader<BatchedConnectionKey, Connection<T>, string> {
  return mode === 'per-parent'
    ? createConnectionLoader(model, parentPath, order, onBatch)
    : createBatchedConnectionLoader(model, { parentPath, order }, onBatch);
}
