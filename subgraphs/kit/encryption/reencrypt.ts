/**
 * Brings a collection's encrypted fields to the tenant's current key, in bounded batches: clear values (data
 * written before encryption was on — `tollgate migrate`) are sealed, values sealed with an older key version (a
 * rotation) are opened and sealed again, current ones are left alone, so a rerun changes nothing (idempotent).
 *
 * Each document is updated with a compare-and-set on the values it read: a request that rewrote the document in the
 * meantime wins, and its value (sealed with the current key already) is not overwritten. Reads during the pass work
 * throughout: an old version stays readable until retired, and the blind index does not change with the data key.
 */
import { mongo } from 'mongoose';
import { CiphertextError } from './format';
import type { FieldCipher } from './field-cipher';

/** One collection's encrypted fields, as each subgraph's models declare them. */
export interface EncryptedCollection {
  readonly collection: string;
  readonly fields: readonly string[];
  /** The blind index kept beside a field (`users.emailIndex` of `users.email`). */
  readonly emailIndex?: { readonly from: string; readonly to: string };
}

export interface ReencryptOptions {
  db: mongo.Db;
  spec: EncryptedCollection;
  cipher: FieldCipher;
  /** One tenant's documents (rotation), or every tenant's (migration). */
  tenantId?: string;
  /** Documents read per batch (default 200, at most 1 000): memory stays bounded whatever the collection's size. */
  batchSize?: number;
  /** Resume after this `_id` (24 hex), the `next` of an earlier call. */
  after?: string;
  /** Stop after this many batches and answer `next` (the platform call does one batch per request). */
  maxBatches?: number;
}

export interface ReencryptResult {
  collection: string;
  scanned: number;
  updated: number;
  /** Updates skipped because a request changed the document between read and write. */
  raced: number;
  /** Where to resume when `maxBatches` stopped the pass early; absent when the collection was read to its end. */
  next?: string;
}

type Doc = Record<string, unknown> & { _id: mongo.ObjectId; tenantId: string };

export async function reencryptCollection(options: ReencryptOptions): Promise<ReencryptResult> {
  const { db, spec, cipher } = options;
  if (!cipher.enabled) throw new CiphertextError('encryption is off: nothing to re-encrypt');
  const batchSize = Math.min(Math.max(options.batchSize ?? 200, 1), 1000);
  const collection = db.collection<Doc>(spec.collection);
  const projection = Object.fromEntries([['tenantId', 1], ...spec.fields.map((field) => [field, 1])]);
  const result: ReencryptResult = { collection: spec.collection, scanned: 0, updated: 0, raced: 0 };
  let after: mongo.ObjectId | undefined =
    options.after === undefined ? undefined : mongo.ObjectId.createFromHexString(options.after);
  for (let batches = 0; ; batches += 1) {
    if (options.maxBatches !== undefined && batches >= options.maxBatches)
      return { ...result, ...(after ? { next: after.toHexString() } : {}) };
    const filter: mongo.Filter<Doc> = {
      ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      ...(after === undefined ? {} : { _id: { $gt: after } }),
    };
    const batch = await collection.find(filter, { projection }).sort({ _id: 1 }).limit(batchSize).toArray();
    if (batch.length === 0) return result;
    for (const doc of batch) {
      result.scanned += 1;
      const set: Record<string, string> = {};
      const expected: Record<string, unknown> = {};
      for (const field of spec.fields) {
        const stored = doc[field];
        if (typeof stored !== 'string' || (await cipher.isCurrent(doc.tenantId, stored))) continue;
        const name = `${spec.collection}.${field}`;
        const clear = await cipher.open(doc.tenantId, name, stored);
        set[field] = await cipher.seal(doc.tenantId, name, clear);
        expected[field] = stored;
        if (spec.emailIndex?.from === field) set[spec.emailIndex.to] = await cipher.emailIndex(doc.tenantId, clear);
      }
      if (Object.keys(set).length === 0) continue;
      const update = await collection.updateOne(
        { _id: doc._id, tenantId: doc.tenantId, ...expected } as mongo.Filter<Doc>,
        { $set: set } as mongo.UpdateFilter<Doc>,
      );
      if (update.modifiedCount === 1) result.updated += 1;
      else result.raced += 1;
    }
    after = batch[batch.length - 1]!._id;
  }
}

/** Counts documents of the tenant with a value not sealed with its current key (what a retirement must not see). */
export async function countStale(options: Omit<ReencryptOptions, 'batchSize'>): Promise<number> {
  const { db, spec, cipher } = options;
  const projection = Object.fromEntries([['tenantId', 1], ...spec.fields.map((field) => [field, 1])]);
  const filter = options.tenantId === undefined ? {} : { tenantId: options.tenantId };
  let stale = 0;
  for await (const doc of db.collection<Doc>(spec.collection).find(filter, { projection })) {
    for (const field of spec.fields) {
      const stored = doc[field];
      if (typeof stored === 'string' && !(await cipher.isCurrent(doc.tenantId, stored))) {
        stale += 1;
        break;
      }
    }
  }
  return stale;
}
