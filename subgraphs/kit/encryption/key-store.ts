/**
 * Tenant data keys: one per tenant and key version, random, stored only wrapped by the KeyProvider in the
 * `tenant_keys` collection of the subgraph's own database (a subgraph owns its data and the keys that read it; a
 * tenant's erase destroys them subgraph by subgraph, through each one's platform call), plus one blind-index key
 * per tenant, constant across rotations so e-mail lookups keep working while values are re-encrypted.
 *
 * Unwrapped keys are cached in a bounded LRU with a TTL: a replica sees another's rotation or destruction within
 * the TTL at the latest (a value naming a version the cache lacks reloads at once).
 *
 * Written with the driver, not mongoose: `tenant_keys` holds one document per tenant, `_id` = tenant id, never
 * reachable through a tenant-scoped model or a GraphQL field.
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { mongo } from 'mongoose';
import { isTenantId } from '../../../common/ids';
import { DATA_KEY_BYTES, MAX_KEY_VERSION } from './format';
import type { KeyProvider } from './key-provider';

export const TENANT_KEYS_COLLECTION = 'tenant_keys';

interface WrappedKey {
  version: number;
  wrapped: mongo.Binary | Buffer;
  createdAt: Date;
}

export interface TenantKeyDocument {
  _id: string;
  /** The version new values are sealed with. */
  current: number;
  /** Every version still readable, current included. */
  keys: WrappedKey[];
  /** The blind-index key, wrapped. */
  index: mongo.Binary | Buffer;
  /** The KeyProvider id that wrapped them. */
  kek: string;
  /** Bumped by every change: rotation and retirement are compare-and-set on it. */
  rev: number;
}

/** One tenant's unwrapped keys. */
export interface TenantKeys {
  readonly tenantId: string;
  readonly current: number;
  readonly dataKeys: ReadonlyMap<number, Buffer>;
  readonly indexKey: Buffer;
}

export interface KeyCacheOptions {
  /** Tenants whose unwrapped keys are kept in memory (default 10 000). */
  max: number;
  /** How long an unwrapped key is trusted before it is read again (default 5 minutes). */
  ttlMs: number;
}

export const DEFAULT_KEY_CACHE: Readonly<KeyCacheOptions> = Object.freeze({ max: 10_000, ttlMs: 5 * 60_000 });

export interface KeyStoreOptions {
  /** The subgraph database's `tenant_keys` collection. */
  collection: mongo.Collection<TenantKeyDocument>;
  provider: KeyProvider;
  cache?: KeyCacheOptions;
}

export interface KeyStatus {
  current: number;
  versions: number[];
  /** When the current version was created: replicas may seal with the previous one until their cache TTL passed. */
  currentSince: Date;
}

export class KeyStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreError';
  }
}

export interface TenantKeyStore {
  /** How long a replica may keep using keys it cached (the cache TTL). */
  readonly cacheTtlMs: number;
  /** The tenant's keys; created (version 1) when `create` and it has none. Undefined when it has none. */
  keysFor(tenantId: string, options?: { create?: boolean }): Promise<TenantKeys | undefined>;
  /** The data key of `version`, reloading once when the cache predates it; undefined when it no longer exists. */
  dataKey(tenantId: string, version: number): Promise<Buffer | undefined>;
  /** Adds a new version and makes it current; older versions stay readable until retired. */
  rotate(tenantId: string): Promise<{ from: number; to: number }>;
  /** Removes `version` (never the current one): values still sealed with it become unreadable. */
  retire(tenantId: string, version: number): Promise<void>;
  /**
   * Crypto-shredding: deletes every wrapped key of the tenant (data keys and index key) and forgets the unwrapped
   * ones this process caches. Every ciphertext of the tenant, wherever a copy lives, becomes unreadable. Returns
   * whether there was anything to destroy (idempotent).
   */
  destroyTenantKey(tenantId: string): Promise<{ destroyed: boolean }>;
  status(tenantId: string): Promise<KeyStatus | undefined>;
}

const bytes = (value: mongo.Binary | Buffer): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer.buffer, value.buffer.byteOffset, value.position);

const dataKeyContext = (tenantId: string, version: number) => `tollgate-tenant-data-key:${tenantId}:${version}`;
const indexKeyContext = (tenantId: string) => `tollgate-tenant-index-key:${tenantId}`;

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

function checkTenant(tenantId: string): void {
  if (!isTenantId(tenantId)) throw new KeyStoreError('invalid tenant id');
}

export function createTenantKeyStore(options: KeyStoreOptions): TenantKeyStore {
  const { collection, provider } = options;
  const cacheOptions = options.cache ?? DEFAULT_KEY_CACHE;

  async function unwrapAll(doc: TenantKeyDocument): Promise<TenantKeys> {
    if (doc.kek !== provider.id)
      throw new KeyStoreError('tenant keys were wrapped by another key-encryption key than the configured one');
    const dataKeys = new Map<number, Buffer>();
    for (const entry of doc.keys)
      dataKeys.set(entry.version, await provider.unwrap(bytes(entry.wrapped), dataKeyContext(doc._id, entry.version)));
    const indexKey = await provider.unwrap(bytes(doc.index), indexKeyContext(doc._id));
    return Object.freeze({ tenantId: doc._id, current: doc.current, dataKeys, indexKey });
  }

  // fetch() deduplicates concurrent loads of one tenant; a tenant without keys is not cached (undefined).
  const cache = new LRUCache<string, TenantKeys>({
    max: cacheOptions.max,
    ttl: cacheOptions.ttlMs,
    fetchMethod: async (tenantId) => {
      const doc = await collection.findOne({ _id: tenantId });
      return doc ? unwrapAll(doc) : undefined;
    },
  });

  // Only on destruction: zeroing on eviction or rotation could corrupt a decryption holding the key between awaits.
  function forget(keys: TenantKeys): void {
    // Best effort: node may hold other copies, but this one is no longer reachable in clear.
    for (const key of keys.dataKeys.values()) key.fill(0);
    keys.indexKey.fill(0);
  }

  async function create(tenantId: string): Promise<void> {
    const dataKey = randomBytes(DATA_KEY_BYTES);
    const indexKey = randomBytes(DATA_KEY_BYTES);
    const doc: TenantKeyDocument = {
      _id: tenantId,
      current: 1,
      keys: [{ version: 1, wrapped: await provider.wrap(dataKey, dataKeyContext(tenantId, 1)), createdAt: new Date() }],
      index: await provider.wrap(indexKey, indexKeyContext(tenantId)),
      kek: provider.id,
      rev: 1,
    };
    dataKey.fill(0);
    indexKey.fill(0);
    try {
      await collection.insertOne(doc);
    } catch (error) {
      // Another request or replica created them first: theirs are the tenant's keys.
      if (!isDuplicateKey(error)) throw error;
    }
  }

  async function keysFor(tenantId: string, opts: { create?: boolean } = {}): Promise<TenantKeys | undefined> {
    checkTenant(tenantId);
    const found = await cache.fetch(tenantId);
    if (found || !opts.create) return found;
    await create(tenantId);
    return cache.fetch(tenantId, { forceRefresh: true });
  }

  async function load(tenantId: string): Promise<TenantKeyDocument> {
    const doc = await collection.findOne({ _id: tenantId });
    if (!doc) throw new KeyStoreError('the tenant has no data key');
    return doc;
  }

  async function compareAndSet(doc: TenantKeyDocument, update: mongo.UpdateFilter<TenantKeyDocument>) {
    const result = await collection.updateOne({ _id: doc._id, rev: doc.rev }, update);
    cache.delete(doc._id);
    if (result.matchedCount !== 1) throw new KeyStoreError('the tenant keys changed concurrently: try again');
  }

  return {
    cacheTtlMs: cacheOptions.ttlMs,
    keysFor,
    async dataKey(tenantId, version) {
      const keys = await keysFor(tenantId);
      const key = keys?.dataKeys.get(version);
      if (key || !keys) return key;
      const fresh = await cache.fetch(tenantId, { forceRefresh: true });
      return fresh?.dataKeys.get(version);
    },
    async rotate(tenantId) {
      checkTenant(tenantId);
      const doc = await load(tenantId);
      const to = doc.current + 1;
      if (to > MAX_KEY_VERSION) throw new KeyStoreError('key versions exhausted');
      const dataKey = randomBytes(DATA_KEY_BYTES);
      const wrapped = await provider.wrap(dataKey, dataKeyContext(tenantId, to));
      dataKey.fill(0);
      await compareAndSet(doc, {
        $set: {
          current: to,
          rev: doc.rev + 1,
          keys: [...doc.keys, { version: to, wrapped, createdAt: new Date() }],
        },
      });
      return { from: doc.current, to };
    },
    async retire(tenantId, version) {
      checkTenant(tenantId);
      const doc = await load(tenantId);
      if (version === doc.current) throw new KeyStoreError('the current key version cannot be retired');
      if (!doc.keys.some((entry) => entry.version === version)) return;
      await compareAndSet(doc, {
        $set: { rev: doc.rev + 1, keys: doc.keys.filter((entry) => entry.version !== version) },
      });
    },
    async destroyTenantKey(tenantId) {
      checkTenant(tenantId);
      const result = await collection.deleteOne({ _id: tenantId });
      const cached = cache.peek(tenantId);
      cache.delete(tenantId);
      if (cached) forget(cached);
      return { destroyed: result.deletedCount === 1 };
    },
    async status(tenantId) {
      checkTenant(tenantId);
      const doc = await collection.findOne({ _id: tenantId }, { projection: { current: 1, keys: 1 } });
      if (!doc) return undefined;
      const since = doc.keys.find((entry) => entry.version === doc.current)?.createdAt ?? new Date(0);
      return { current: doc.current, versions: doc.keys.map((entry) => entry.version), currentSince: since };
    },
  };
}
