/**
 * API keys for partners' servers: `tg_live_<keyId>_<secret>`. The prefix makes a leaked key greppable (and the
 * logger redacts anything that looks like one); the key id is public — it names the key in logs, the CLI and
 * `lastUsedAt` — and the secret is 40 base62 characters (238 bits), stored only as its SHA-256. A hash without a
 * salt or a slow KDF is enough for a secret of that entropy: there is no dictionary to try.
 *
 * A key belongs to one tenant, carries scopes (partners act through scopes, not roles), the persisted-operation
 * manifest it may run, an expiry, and the name of the client it was issued to. Rotation issues a replacement and
 * lets the old key live on for a chosen overlap; revocation ends it at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Schema, trusted, type Connection, type Model } from 'mongoose';
import { isTenantId } from '../../../common/ids';
import { isManifestName } from '../persisted/manifest';
import type { ChangePublisher } from '../tenants/changes';
import {
  RegistryError,
  RegistryValidationError,
  STRICT_SCHEMA_OPTIONS,
  type TenantLookup,
} from '../control-plane/registry-common';

export const API_KEY_SCOPES = [
  'catalog:read',
  'catalog:write',
  'inventory:read',
  'inventory:write',
  'reviews:read',
  'reviews:write',
  'users:read',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export function isApiKeyScope(value: unknown): value is ApiKeyScope {
  return typeof value === 'string' && (API_KEY_SCOPES as readonly string[]).includes(value);
}

const KEY_ID_LENGTH = 12;
const SECRET_LENGTH = 40;
const API_KEY_PATTERN = new RegExp(`^tg_live_([A-Za-z0-9]{${KEY_ID_LENGTH}})_([A-Za-z0-9]{${SECRET_LENGTH}})$`);
const KEY_ID_PATTERN = new RegExp(`^[A-Za-z0-9]{${KEY_ID_LENGTH}}$`);
const CONTROL_CHARACTERS = /\p{Cc}/u;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const MAX_CLIENT_NAME_LENGTH = 100;
export const MAX_KEY_LIFETIME_MS = 366 * 24 * 3_600_000;
export const MAX_ROTATION_OVERLAP_MS = 30 * 24 * 3_600_000;

export function isApiKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID_PATTERN.test(value);
}

/** Splits a presented key into its id and secret; `undefined` for anything not shaped like one of ours. */
export function parseApiKey(text: string): { keyId: string; secret: string } | undefined {
  const match = API_KEY_PATTERN.exec(text);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time, so the time a refusal takes says nothing about how much of the secret was right. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiKeySecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** Uniform base62: bytes ≥ 248 are skipped, since 248 is the largest multiple of 62 that fits a byte. */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly clientName: string;
  readonly scopes: readonly ApiKeyScope[];
  /** The persisted-operation manifest the key may run. */
  readonly manifest: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** Set by rotation: the end of the overlap during which the old key still works. */
  readonly retiresAt?: Date;
  readonly replacedBy?: string;
  readonly replaces?: string;
  readonly revokedAt?: Date;
  /** Written in batches (api-key-verifier.ts), so up to about a minute behind. */
  readonly lastUsedAt?: Date;
}

/** A key as verification needs it: with the hash of its secret. Never leaves the gateway's memory. */
export interface StoredApiKey extends ApiKeyRecord {
  readonly secretHash: string;
}

export type ApiKeyStatus = 'active' | 'retiring' | 'rotated-out' | 'revoked' | 'expired';

/** When the key stops being accepted, whichever comes first: its expiry or the end of its rotation overlap. */
export function apiKeyEndsAt(key: ApiKeyRecord): number {
  return Math.min(key.expiresAt.getTime(), key.retiresAt?.getTime() ?? Infinity);
}

export function apiKeyStatus(key: ApiKeyRecord, now: number): ApiKeyStatus {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt.getTime() <= now) return 'expired';
  if (key.retiresAt) return key.retiresAt.getTime() <= now ? 'rotated-out' : 'retiring';
  return 'active';
}

interface ApiKeyDoc {
  _id: string;
  tenantId: string;
  clientName: string;
  scopes: string[];
  manifest: string;
  secretHash: string;
  createdAt: Date;
  expiresAt: Date;
  retiresAt?: Date | null;
  replacedBy?: string | null;
  replaces?: string | null;
  revokedAt?: Date | null;
  lastUsedAt?: Date | null;
}

function apiKeyModel(connection: Connection): Model<ApiKeyDoc> {
  const schema = new Schema<ApiKeyDoc>(
    {
      _id: { type: String, required: true },
      tenantId: { type: String, required: true, index: true },
      clientName: { type: String, required: true },
      scopes: { type: [String], required: true },
      manifest: { type: String, required: true },
      secretHash: { type: String, required: true },
      // The gateway's key-id index reads the keys created since its last refresh (key-id-index.ts).
      createdAt: { type: Date, required: true, index: true },
      expiresAt: { type: Date, required: true },
      retiresAt: { type: Date },
      replacedBy: { type: String },
      replaces: { type: String },
      revokedAt: { type: Date },
      lastUsedAt: { type: Date },
    },
    { ...STRICT_SCHEMA_OPTIONS, collection: 'apiKeys' },
  );
  return connection.model<ApiKeyDoc>('ApiKey', schema);
}

export interface NewApiKey {
  tenantId: string;
  clientName: string;
  scopes: readonly string[];
  manifest: string;
  expiresAt: Date;
}

export interface IssuedApiKey {
  /** The whole key: shown once, never stored. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

export interface RotatedApiKey {
  readonly issued: IssuedApiKey;
  /** The old key, now with the end of its overlap. */
  readonly retiring: ApiKeyRecord;
}

export class ApiKeyRegistry {
  private readonly keys: Model<ApiKeyDoc>;

  constructor(
    connection: Connection,
    private readonly tenants: TenantLookup,
    private readonly changes: ChangePublisher | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = apiKeyModel(connection);
  }

  issue(input: NewApiKey): Promise<IssuedApiKey> {
    return this.insert(input, this.now());
  }

  private async insert(input: NewApiKey, now: number, replaces?: string): Promise<IssuedApiKey> {
    const problems = newKeyProblems(input, now);
    if (problems.length > 0) throw new RegistryValidationError(problems);
    if (!(await this.tenants.getTenant(input.tenantId))) throw new RegistryError(`no tenant ${input.tenantId}`);
    const keyId = randomBase62(KEY_ID_LENGTH);
    const secret = randomBase62(SECRET_LENGTH);
    const doc: ApiKeyDoc = {
      _id: keyId,
      tenantId: input.tenantId,
      clientName: input.clientName,
      scopes: [...new Set(input.scopes)],
      manifest: input.manifest,
      secretHash: hashApiKeySecret(secret),
      createdAt: new Date(now),
      expiresAt: input.expiresAt,
      ...(replaces ? { replaces } : {}),
    };
    await this.keys.create(doc);
    // Gateways refuse a key id their index does not hold without reading it (key-id-index.ts): the announcement
    // adds it to every replica's index at once, the index's refresh within its period when Redis is down.
    await this.changes?.publish({ kind: 'apiKey', id: keyId });
    return { key: `tg_live_${keyId}_${secret}`, record: toRecord(doc) };
  }

  /**
   * Issues a replacement with the same tenant, client, scopes and manifest, and gives the old key `overlapMs` more
   * (never past its own expiry) so the partner can deploy the new one without an outage.
   */
  async rotate(keyId: string, options: { overlapMs: number; expiresAt?: Date }): Promise<RotatedApiKey> {
    if (
      !Number.isSafeInteger(options.overlapMs) ||
      options.overlapMs < 0 ||
      options.overlapMs > MAX_ROTATION_OVERLAP_MS
    ) {
      throw new RegistryValidationError([`overlap must be from 0 to ${MAX_ROTATION_OVERLAP_MS / 86_400_000} days`]);
    }
    const old = await this.get(keyId);
    if (!old) throw new RegistryError(`no key ${keyId}`);
    const now = this.now();
    const status = apiKeyStatus(old, now);
    if (status !== 'active') throw new RegistryError(`key ${keyId} is ${status} and cannot be rotated`);
    const lifetime = old.expiresAt.getTime() - old.createdAt.getTime();
    const issued = await this.insert(
      {
        tenantId: old.tenantId,
        clientName: old.clientName,
        scopes: old.scopes,
        manifest: old.manifest,
        expiresAt: options.expiresAt ?? new Date(now + Math.min(lifetime, MAX_KEY_LIFETIME_MS)),
      },
      now,
      old.id,
    );
    const retiresAt = new Date(Math.min(now + options.overlapMs, old.expiresAt.getTime()));
    // Conditional on the key still being untouched: a concurrent revoke or rotate wins, and the replacement goes.
    const retiring = await this.keys
      .findOneAndUpdate(
        { _id: old.id, revokedAt: null, retiresAt: null },
        { $set: { retiresAt, replacedBy: issued.record.id } },
        { returnDocument: 'after' },
      )
      .lean<ApiKeyDoc>()
      .exec();
    if (!retiring) {
      await this.keys.deleteOne({ _id: issued.record.id }).exec();
      throw new RegistryError(`key ${keyId} was changed while it was being rotated; nothing was rotated`);
    }
    await this.changes?.publish({ kind: 'apiKey', id: old.id });
    return { issued, retiring: toRecord(retiring) };
  }

  /** Ends the key now. Revoking a revoked key changes nothing. */
  async revoke(keyId: string): Promise<ApiKeyRecord> {
    if (!isApiKeyId(keyId)) throw new RegistryError(`no key ${keyId}`);
    const revoked = await this.keys
      .findOneAndUpdate(
        { _id: keyId, revokedAt: null },
        { $set: { revokedAt: new Date(this.now()) } },
        { returnDocument: 'after' },
      )
      .lean<ApiKeyDoc>()
      .exec();
    if (revoked) await this.changes?.publish({ kind: 'apiKey', id: keyId });
    const record = revoked ? toRecord(revoked) : await this.get(keyId);
    if (!record) throw new RegistryError(`no key ${keyId}`);
    return record;
  }

  /**
   * Tenant erasure (`tollgate tenant erase`): revokes every key of the tenant (announced, so gateways drop them at
   * once), then deletes the records — an erased tenant leaves no key, client name or hash behind. Returns how many.
   */
  async purgeTenant(tenantId: string): Promise<{ revoked: number; deleted: number }> {
    if (!isTenantId(tenantId)) return { revoked: 0, deleted: 0 };
    let revoked = 0;
    for (const key of await this.list({ tenantId })) {
      if (!key.revokedAt) {
        await this.revoke(key.id);
        revoked++;
      }
    }
    const { deletedCount } = await this.keys.deleteMany({ tenantId }).exec();
    return { revoked, deleted: deletedCount };
  }

  async get(keyId: string): Promise<ApiKeyRecord | undefined> {
    const stored = await this.findForVerification(keyId);
    return stored && withoutSecret(stored);
  }

  async list(filter: { tenantId?: string } = {}): Promise<ApiKeyRecord[]> {
    if (filter.tenantId !== undefined && !isTenantId(filter.tenantId)) return [];
    const query = filter.tenantId === undefined ? {} : { tenantId: filter.tenantId };
    const docs = await this.keys
      .find(query)
      .select({ secretHash: 0 })
      .sort({ tenantId: 1, createdAt: 1 })
      .lean<ApiKeyDoc[]>()
      .exec();
    return docs.map(toRecord);
  }

  /**
   * The ids of the stored keys (all of them, or those created at or after `createdSince`), with their creation time:
   * what the gateway's key-id index is built from. Ids only, never a secret hash.
   */
  async listKeyIds(createdSince?: Date): Promise<{ id: string; createdAt: Date }[]> {
    // The connection sanitizes filters (registry.ts); this operator is ours, on a Date we were given, never client JSON.
    const query = createdSince === undefined ? {} : { createdAt: trusted({ $gte: createdSince }) };
    const docs = await this.keys
      .find(query)
      .select({ _id: 1, createdAt: 1 })
      .lean<Pick<ApiKeyDoc, '_id' | 'createdAt'>[]>()
      .exec();
    return docs.map((doc) => ({ id: doc._id, createdAt: doc.createdAt }));
  }

  async findForVerification(keyId: string): Promise<StoredApiKey | undefined> {
    if (!isApiKeyId(keyId)) return undefined;
    const doc = await this.keys.findById(keyId).lean<ApiKeyDoc>().exec();
    return doc ? { ...toRecord(doc), secretHash: doc.secretHash } : undefined;
  }

  /** Stores when each key was last used; `$max` keeps replicas flushing out of order from moving it backwards. */
  async recordUse(lastUsed: ReadonlyMap<string, number>): Promise<void> {
    const ops = [...lastUsed]
      .filter(([keyId]) => isApiKeyId(keyId))
      .map(([keyId, at]) => ({
        updateOne: { filter: { _id: keyId }, update: { $max: { lastUsedAt: new Date(at) } } },
      }));
    if (ops.length > 0) await this.keys.bulkWrite(ops, { ordered: false });
  }
}

function newKeyProblems(input: NewApiKey, now: number): string[] {
  const problems: string[] = [];
  if (!isTenantId(input.tenantId)) problems.push('tenant must be a tenant id such as "acme"');
  const { clientName } = input;
  if (
    typeof clientName !== 'string' ||
    clientName.trim().length === 0 ||
    clientName.length > MAX_CLIENT_NAME_LENGTH ||
    CONTROL_CHARACTERS.test(clientName)
  ) {
    problems.push(`client name must be 1–${MAX_CLIENT_NAME_LENGTH} printable characters`);
  }
  if (!Array.isArray(input.scopes) || input.scopes.length === 0 || !input.scopes.every(isApiKeyScope)) {
    problems.push(`scopes must be one or more of ${API_KEY_SCOPES.join(', ')}`);
  }
  if (!isManifestName(input.manifest)) {
    problems.push('manifest must be a manifest id: letters, digits, ".", "_" or "-", up to 100');
  }
  const expiresAt = input.expiresAt instanceof Date ? input.expiresAt.getTime() : NaN;
  if (!(expiresAt > now) || expiresAt - now > MAX_KEY_LIFETIME_MS)
    problems.push('expiry must be in the future and at most 366 days away');
  return problems;
}

function toRecord(doc: ApiKeyDoc): ApiKeyRecord {
  return Object.freeze({
    id: doc._id,
    tenantId: doc.tenantId,
    clientName: doc.clientName,
    scopes: Object.freeze(doc.scopes.filter(isApiKeyScope)),
    manifest: doc.manifest,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
    ...(doc.retiresAt ? { retiresAt: doc.retiresAt } : {}),
    ...(doc.replacedBy ? { replacedBy: doc.replacedBy } : {}),
    ...(doc.replaces ? { replaces: doc.replaces } : {}),
    ...(doc.revokedAt ? { revokedAt: doc.revokedAt } : {}),
    ...(doc.lastUsedAt ? { lastUsedAt: doc.lastUsedAt } : {}),
  });
}

function withoutSecret(stored: StoredApiKey): ApiKeyRecord {
  const { secretHash: _secretHash, ...record } = stored;
  return Object.freeze(record);
}
