/**
 * Tenant-portable documents: the pure part of export, import and their checksums.
 *
 * An export is re-imported into another tenant of the same pooled collections, where the source's `_id`s already
 * exist (`_id` is unique per collection, not per tenant). So import moves every ObjectId (keys and references
 * alike) by one tenant-specific mask: `portable = stored XOR mask(tenant)`, `stored' = portable XOR mask(target)`.
 * The same function applied to every ObjectId keeps references between subgraphs consistent without a shared map
 * (a review's productId still names the product, whichever subgraph imported first). The mask touches only bytes
 * 4–8 of an ObjectId (its per-process random part), so the creation time in bytes 0–3 — what newest-first paging
 * and retention read — is kept.
 *
 * The checksum of a collection is computed on the portable form without `tenantId`, so a tenant and its re-import
 * have the same checksums. It is order-independent (sum of per-document SHA-256 mod 2^256), so a subgraph and the
 * CLI can compute it over streams in any order in constant memory.
 */
import { createHash } from 'node:crypto';
import mongoose from 'mongoose';

const { ObjectId } = mongoose.mongo;
type ObjectIdType = InstanceType<typeof ObjectId>;

const MASK_START = 4;
const MASK_LENGTH = 5;
/** Documents here are flat records; anything deeper than this is refused rather than walked. */
export const MAX_DOCUMENT_DEPTH = 8;

export function tenantMask(tenantId: string): Buffer {
  return createHash('sha256').update(`tollgate/portable-id/v1/${tenantId}`).digest().subarray(0, MASK_LENGTH);
}

function xorId(id: ObjectIdType, mask: Buffer): ObjectIdType {
  const bytes = Buffer.from(id.id);
  for (let i = 0; i < MASK_LENGTH; i++) bytes[MASK_START + i] = bytes[MASK_START + i]! ^ mask[i]!;
  return new ObjectId(bytes);
}

const isObjectId = (value: unknown): value is ObjectIdType => value instanceof ObjectId;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Every ObjectId in `doc` mapped by `map`; the rest copied. Throws beyond MAX_DOCUMENT_DEPTH. */
export function mapObjectIds(doc: unknown, map: (id: ObjectIdType) => ObjectIdType, depth = 0): unknown {
  if (depth > MAX_DOCUMENT_DEPTH) throw new Error('document too deep');
  if (isObjectId(doc)) return map(doc);
  if (Array.isArray(doc)) return doc.map((item) => mapObjectIds(item, map, depth + 1));
  if (isPlainRecord(doc)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc)) out[key] = mapObjectIds(value, map, depth + 1);
    return out;
  }
  return doc;
}

/** The ids of a document of `from` as they are stored for `to` (import). */
export function rebaseIds(doc: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  const a = tenantMask(from);
  const b = tenantMask(to);
  const mask = Buffer.from(a.map((byte, i) => byte ^ b[i]!));
  return mapObjectIds(doc, (id) => xorId(id, mask)) as Record<string, unknown>;
}

/** Deterministic text of a value: keys sorted, ObjectIds and dates tagged, nothing else interpreted. */
export function canonical(value: unknown, depth = 0): string {
  if (depth > MAX_DOCUMENT_DEPTH) throw new Error('document too deep');
  if (isObjectId(value)) return `{"$oid":"${value.toHexString()}"}`;
  if (value instanceof Date) return `{"$date":${JSON.stringify(value.toISOString())}}`;
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item, depth + 1)).join(',')}]`;
  if (isPlainRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key], depth + 1)}`).join(',')}}`;
  }
  if (value === undefined) return 'null';
  if (typeof value === 'object' && value !== null && 'toJSON' in value) return JSON.stringify(value);
  return JSON.stringify(value);
}

/** SHA-256 of the document's portable form: its tenant's mask removed from every id, `tenantId` left out. */
export function documentDigest(doc: Record<string, unknown>, tenantId: string): Buffer {
  const mask = tenantMask(tenantId);
  const { tenantId: _omitted, ...rest } = doc;
  const portable = mapObjectIds(rest, (id) => xorId(id, mask));
  return createHash('sha256').update(canonical(portable)).digest();
}

const MOD = 1n << 256n;

/** An order-independent running checksum of a collection: count and the sum of digests mod 2^256. */
export class CollectionChecksum {
  count = 0;
  private sum = 0n;

  add(doc: Record<string, unknown>, tenantId: string): void {
    this.count++;
    this.sum = (this.sum + BigInt(`0x${documentDigest(doc, tenantId).toString('hex')}`)) % MOD;
  }

  get checksum(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}
