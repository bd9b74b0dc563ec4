/**
 * DataLoaders, created per request by each subgraph's context function and never shared between requests: their
 * cache holds one tenant's documents, and the tenant plugin reads the tenant when the batch query runs.
 */
import DataLoader from 'dataloader';
import mongoose, { Types, type Model } from 'mongoose';
import { isObjectIdHex } from '../../common/ids';
import { paginate, type Connection, type Page, type SortOrder } from './pagination';

/** Bounds the `$in` list of one batch; a larger batch is split into several queries. */
const MAX_BATCH = 1000;

/**
 * Loads documents by an ObjectId-valued path (`_id`, or `productId` for stock): every key asked for in one tick
 * becomes ONE `find({ tenantId, [path]: { $in } })`. Keys that are not 24-hex ids resolve to null without a query,
 * exactly like ids of other tenants' documents.
 */
export function createLoaderBy<T extends object>(model: Model<T>, path: string): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(
    async (keys) => {
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
    { maxBatchSize: MAX_BATCH },
  );
}

export interface ConnectionKey {
  /** The id the connection hangs off (a product or an author), as given by the gateway. */
  id: string;
  page: Page;
}

/**
 * One page of children per parent (`Product.reviews`, `User.reviews`). Pages of different parents cannot share a
 * single query without `$facet` or `$lookup` (FerretDB has neither), so a batch issues its queries in parallel.
 */
export function createConnectionLoader<T extends { _id: Types.ObjectId }>(
  model: Model<T>,
  parentPath: string,
  order: SortOrder,
): DataLoader<ConnectionKey, Connection<T>, string> {
  return new DataLoader<ConnectionKey, Connection<T>, string>(
    (keys) =>
      Promise.all(
        keys.map((key) =>
          isObjectIdHex(key.id)
            ? paginate(model, { [parentPath]: new Types.ObjectId(key.id) }, key.page, order)
            : { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
        ),
      ),
    { cacheKeyFn: (key) => `${key.id}:${key.page.first}:${key.page.after?.toHexString() ?? ''}`, maxBatchSize: MAX_BATCH },
  );
}
