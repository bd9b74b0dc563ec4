/**
 * What the platform API does to one tenant's documents in one subgraph: counts and checksums, export pages,
 * import batches, erase and retention sweeps — every one in bounded batches, and every one through the subgraph's
 * own models inside a tenant scope, so the tenant plugin pins (and asserts) the tenant exactly as for a gateway
 * request. No operation touches the raw driver.
 */
import { randomUUID } from 'node:crypto';
import mongoose, { type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError } from '../errors';
import { runInScope } from '../scope';
import { CollectionChecksum, rebaseIds } from './portable';

/** Documents per delete batch and per cursor batch; the largest import batch. */
export const PLATFORM_BATCH = 1_000;
export const MAX_IMPORT_BATCH = 2_000;

type AnyModel = Model<Record<string, unknown>>;

/** The collections this subgraph owns, by collection name (not model name: that is what exports and receipts name). */
export function ownedCollections(connection: Connection): Map<string, AnyModel> {
  const collections = new Map<string, AnyModel>();
  for (const model of Object.values(connection.models)) {
    collections.set(model.collection.collectionName, model as unknown as AnyModel);
  }
  return collections;
}

/** Runs `fn` as the platform acting on `tenantId`: no roles, no deadline (batches bound the work instead). */
export function asPlatform<T>(tenantId: string, requestId: string, fn: () => Promise<T>): Promise<T> {
  return runInScope({ tenantId, principal: 'platform', roles: [], requestId }, fn);
}

export interface CollectionStats {
  collection: string;
  count: number;
  checksum: string;
}

/** Count and checksum of the tenant's documents in one collection, read through a cursor (constant memory). */
export async function collectionStats(
  model: AnyModel,
  tenantId: string,
  portable: (doc: Record<string, unknown>) => Promise<Record<string, unknown>> = async (doc) => doc,
): Promise<CollectionStats> {
  const sum = new CollectionChecksum();
  const cursor = model.find({}).lean().cursor({ batchSize: PLATFORM_BATCH });
  // Taken on the portable form (sealed fields opened: sealed.ts), as the export streams it.
  for await (const doc of cursor) sum.add(await portable(doc as Record<string, unknown>), tenantId);
  return { collection: model.collection.collectionName, count: sum.count, checksum: sum.checksum };
}

/**
 * Every document of the tenant in one collection, as a cursor read in batches of PLATFORM_BATCH. Not sorted and not
 * paged: FerretDB v1 sorts in memory, so `sort({_id}).limit(n)` pages cost a scan of the collection each (quadratic
 * over an export); one cursor streams the collection once and the HTTP answer's backpressure paces it.
 */
export function exportCursor(model: AnyModel) {
  return model.find({}).lean().cursor({ batchSize: PLATFORM_BATCH });
}

export interface ImportResult {
  inserted: number;
  /** Already there (a re-run of the same import): not inserted again. */
  existing: number;
}

/**
 * Inserts documents exported from `sourceTenant` as the current tenant's: ids rebased (portable.ts), `tenantId`
 * replaced. Validation runs as for any write; a document already imported is skipped, so a re-run is harmless.
 */
export async function importBatch(
  model: AnyModel,
  documents: readonly Record<string, unknown>[],
  sourceTenant: string,
  targetTenant: string,
  seal: (doc: Record<string, unknown>) => Promise<Record<string, unknown>> = async (doc) => doc,
): Promise<ImportResult> {
  // Personal fields arrive opened (the portable form): sealed here under the target tenant's key (sealed.ts).
  // One document after another: the first seal creates the tenant's key, the rest find it cached (thousands of
  // concurrent seals would each miss the cache and unwrap, or race to create, the key).
  const rebased: Record<string, unknown>[] = [];
  for (const doc of documents) {
    const { tenantId: _source, ...rest } = rebaseIds(doc, sourceTenant, targetTenant);
    rebased.push(await seal(rest));
  }
  let inserted: number;
  let existing = 0;
  // One document at a time would be 1.4 ms each on FerretDB; ordered:false inserts the rest past a duplicate.
  try {
    const result = await model.insertMany(rebased, { ordered: false, throwOnValidationError: true, lean: false });
    inserted = result.length;
  } catch (error) {
    const writeErrors = (error as { writeErrors?: { code?: number; err?: { code?: number } }[] }).writeErrors;
    const inserts = (error as { insertedDocs?: unknown[] }).insertedDocs;
    if (!Array.isArray(writeErrors) || !writeErrors.every((e) => isDuplicateKeyError(e.err ?? e))) throw error;
    existing = writeErrors.length;
    inserted = Array.isArray(inserts) ? inserts.length : rebased.length - existing;
  }
  return { inserted, existing };
}

export interface EraseResult {
  collection: string;
  before: number;
  after: number;
}

/** A row of an erasure: which placement the collection was in (api.ts erases both). */
export interface PlacedEraseResult extends EraseResult {
  placement: 'pooled' | 'silo';
}

/** The tenant's silo database after an erasure (kit/placement.ts `dropSilo`). */
export type SiloErasure = 'dropped' | 'absent' | 'not empty';

/** Deletes every document of the tenant in one collection, `batch` at a time; idempotent. */
export async function eraseCollection(model: AnyModel, batch = PLATFORM_BATCH): Promise<EraseResult> {
  const before = await model.countDocuments({});
  for (;;) {
    const ids = (await model.find({}).select({ _id: 1 }).limit(batch).lean()).map((doc) => doc._id);
    if (ids.length === 0) break;
    await model.deleteMany({ _id: mongoose.trusted({ $in: ids }) });
  }
  return { collection: model.collection.collectionName, before, after: await model.countDocuments({}) };
}

export interface SweepResult {
  collection: string;
  deleted: number;
  /** False when `maxBatches` ran out first: run the sweep again. */
  complete: boolean;
}

/**
 * Retention: deletes the tenant's documents created before `before` (the creation time is the ObjectId's), at most
 * `maxBatches` batches of `batch`. Idempotent: what is gone is not counted again.
 */
export async function sweepCollection(
  model: AnyModel,
  before: Date,
  batch = PLATFORM_BATCH,
  maxBatches = 100,
): Promise<SweepResult> {
  const bound = mongoose.Types.ObjectId.createFromTime(Math.floor(before.getTime() / 1000));
  let deleted = 0;
  for (let i = 0; i < maxBatches; i++) {
    const ids = (
      await model
        .find({ _id: mongoose.trusted({ $lt: bound }) })
        .select({ _id: 1 })
        .limit(batch)
        .lean()
    ).map((doc) => doc._id);
    if (ids.length === 0) return { collection: model.collection.collectionName, deleted, complete: true };
    const result = await model.deleteMany({ _id: mongoose.trusted({ $in: ids }) });
    deleted += result.deletedCount;
  }
  return { collection: model.collection.collectionName, deleted, complete: false };
}

export const platformRequestId = (claimed: string) =>
  /^[A-Za-z0-9._:-]{1,128}$/.test(claimed) ? claimed : randomUUID();
