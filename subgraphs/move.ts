/**
 * The data side of `tollgate tenant move` (cli/tenant-move.ts orchestrates it through the control plane): copies a
 * tenant's documents from one placement to the other (kit/placement.ts), verifies the copy by count and checksum
 * per collection, and removes the old copy. Runs while the gateways refuse the tenant's writes, with the
 * migration's database rights; the running subgraphs are never asked to do it.
 *
 * It reads and writes with the driver, below the tenant plugin (which serves requests in a tenant scope): every
 * filter here pins `tenantId` itself, and a silo database is dropped only by its own name.
 *
 * Bounded memory whatever the tenant's size: documents move in batches of `batchSize` (the read cursor's batch too).
 * Idempotent: a copy first deletes whatever an interrupted earlier copy left in the target, so a rerun starts clean.
 */
import { createHash } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { SUBGRAPH_NAMES, type SubgraphName } from './catalog';
import { defaultDbName } from './kit/database';
import { siloDbName } from './kit/placement';
import { MODELS } from './migrate';

export type Tier = 'pooled' | 'silo';

export interface TenantDataOptions {
  /** The migration's connection to the subgraphs' MongoDB (one server for all, as `tollgate migrate`). */
  connection: Connection;
  tenantId: string;
  /** Each subgraph's shared database; `tollgate_<name>` by default. */
  dbNameFor?: (name: SubgraphName) => string;
  /** Documents per read and per insert; 500 by default. */
  batchSize?: number;
}

/** One collection of one subgraph: its documents of the tenant in one placement. */
export interface CollectionSummary {
  subgraph: SubgraphName;
  collection: string;
  count: number;
  /** SHA-256 over the BSON of every document in `_id` order (hex). */
  checksum: string;
}

export const DEFAULT_MOVE_BATCH_SIZE = 500;
const MAX_BATCH_SIZE = 10_000;

/** The collections of each subgraph, from its models (compiled on an unopened connection: nothing is sent). */
export function subgraphCollections(): Record<SubgraphName, string[]> {
  const result = {} as Record<SubgraphName, string[]>;
  for (const name of SUBGRAPH_NAMES) {
    const scratch = mongoose.createConnection();
    MODELS[name](scratch);
    result[name] = Object.values(scratch.models).map((model) => model.collection.collectionName);
    void scratch.close();
  }
  return result;
}

function databaseOf(options: TenantDataOptions, name: SubgraphName, tier: Tier): string {
  const shared = (options.dbNameFor ?? defaultDbName)(name);
  return tier === 'pooled' ? shared : siloDbName(shared, options.tenantId);
}

function collectionOf(options: TenantDataOptions, name: SubgraphName, tier: Tier, collection: string) {
  return options.connection
    .getClient()
    .db(databaseOf(options, name, tier))
    .collection(collection);
}

function batchSizeOf(options: TenantDataOptions): number {
  const size = options.batchSize ?? DEFAULT_MOVE_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH_SIZE)
    throw new Error(`the batch size must be 1–${MAX_BATCH_SIZE}`);
  return size;
}

/**
 * The tenant's documents of one collection, `_id` ascending, one bounded batch at a time. One cursor whose
 * batches the driver fetches with getMore: a query per batch by `_id` range would make FerretDB sort the tenant's
 * documents again for every batch (measured here: 61 s instead of 6.4 s to copy 20,000 documents).
 */
async function* batches(
  options: TenantDataOptions,
  name: SubgraphName,
  tier: Tier,
  collection: string,
): AsyncGenerator<Record<string, unknown>[]> {
  const size = batchSizeOf(options);
  const cursor = collectionOf(options, name, tier, collection)
    .find({ tenantId: options.tenantId })
    .sort({ _id: 1 })
    .batchSize(size);
  try {
    let batch: Record<string, unknown>[] = [];
    for await (const doc of cursor) {
      batch.push(doc);
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    await cursor.close();
  }
}

/** Count and checksum of the tenant's documents in `tier`, per subgraph and collection. */
export async function summarizeTenant(options: TenantDataOptions, tier: Tier): Promise<CollectionSummary[]> {
  const summaries: CollectionSummary[] = [];
  for (const [name, collections] of Object.entries(subgraphCollections()) as [SubgraphName, string[]][]) {
    for (const collection of collections) {
      const hash = createHash('sha256');
      let count = 0;
      for await (const batch of batches(options, name, tier, collection)) {
        for (const doc of batch) hash.update(mongoose.mongo.BSON.serialize(doc));
        count += batch.length;
      }
      summaries.push({ subgraph: name, collection, count, checksum: hash.digest('hex') });
    }
  }
  return summaries;
}

/**
 * Copies every document of the tenant from `from` to `to`, after deleting what the target already holds of it
 * (an earlier, interrupted copy). Documents keep their `_id` and field order, so checksums compare byte for byte.
 */
export async function copyTenant(options: TenantDataOptions, from: Tier, to: Tier): Promise<number> {
  if (from === to) throw new Error('a copy needs two different placements');
  let copied = 0;
  for (const [name, collections] of Object.entries(subgraphCollections()) as [SubgraphName, string[]][]) {
    for (const collection of collections) {
      const target = collectionOf(options, name, to, collection);
      await target.deleteMany({ tenantId: options.tenantId });
      for await (const batch of batches(options, name, from, collection)) {
        await target.insertMany(batch, { ordered: true });
        copied += batch.length;
      }
    }
  }
  return copied;
}

/** The collections whose count or checksum differ between the two summaries. */
export function summaryDifferences(a: readonly CollectionSummary[], b: readonly CollectionSummary[]): string[] {
  const key = (s: CollectionSummary) => `${s.subgraph}.${s.collection}`;
  const other = new Map(b.map((s) => [key(s), s]));
  const differences: string[] = [];
  for (const s of a) {
    const t = other.get(key(s));
    if (!t || t.count !== s.count || t.checksum !== s.checksum)
      differences.push(`${key(s)}: ${s.count} documents vs ${t?.count ?? 'none'}`);
  }
  if (a.length !== b.length) differences.push('the two placements list different collections');
  return differences;
}

/**
 * Removes the tenant's documents from `tier`: its documents in the shared collections, or its silo databases
 * (dropped whole; they hold nothing else). Idempotent.
 */
export async function removeTenantData(options: TenantDataOptions, tier: Tier): Promise<number> {
  let removed = 0;
  for (const [name, collections] of Object.entries(subgraphCollections()) as [SubgraphName, string[]][]) {
    if (tier === 'silo') {
      const db = options.connection.getClient().db(databaseOf(options, name, 'silo'));
      for (const collection of collections) removed += await db.collection(collection).countDocuments({});
      await db.dropDatabase();
      continue;
    }
    for (const collection of collections) {
      const result = await collectionOf(options, name, 'pooled', collection).deleteMany({ tenantId: options.tenantId });
      removed += result.deletedCount;
    }
  }
  return removed;
}
