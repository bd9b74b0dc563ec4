/**
 * Automatic persisted queries for frontends, cached in Redis so every replica knows a hash any replica learned.
 *
 * The cache is content-addressed and per tenant: `register` stores a query only under its own SHA-256, so what a
 * hash means can never be changed by anyone, and only in the registering tenant's space — one tenant cannot learn
 * whether another sent a given text (a hit on a guessed hash would tell it), and a tenant's texts, which may hold
 * its data as literals, are its `{tenant}`-tagged keys: `tollgate tenant erase` purges them with the rest
 * (cli/lifecycle/redis-purge.ts). A text used by many tenants is stored once per tenant, for at most a day. APQ is a
 * bandwidth optimisation, not a safelist: whether the text may run is decided after it is resolved.
 *
 * Redis being down turns into misses: the client sends the query again, and the request is served without the cache.
 */
import { isTenantId } from '../../../common/ids';
import type { Logger } from '../../../common/logger';
import { closeRedisClient, createRedisClient } from '../redis/connect';
import { isOperationId, operationId } from './manifest';

/** Registered queries expire: a hash nobody sends any more should not occupy Redis forever. */
export const APQ_TTL_SECONDS = 24 * 3_600;

/**
 * The key of one tenant's text: the tenant as the Redis Cluster hash tag, as every per-tenant key (budget/keys.ts).
 * v2: v1 keys (`tollgate:apq:v1:<hash>`) were shared by every tenant; they are no longer read and expire in a day.
 */
export function apqKey(tenantId: string, hash: string): string {
  if (!isTenantId(tenantId) || !isOperationId(hash)) throw new Error('APQ key: invalid tenant id or hash');
  return `tollgate:apq:v2:{${tenantId}}:${hash}`;
}

export interface ApqStore {
  /** The query `tenantId` registered under `hash`; `undefined` when unknown, or when Redis cannot answer. */
  lookup(tenantId: string, hash: string): Promise<string | undefined>;
  /**
   * Stores `query` under `hash` for `tenantId`. Stores nothing when `hash` is not the query's SHA-256: callers check
   * too (and refuse the request), but the cache is content-addressed whoever calls it.
   */
  register(tenantId: string, hash: string, query: string): Promise<void>;
  close(): Promise<void>;
}

export interface ApqStoreOptions {
  redisUrl: string;
  logger: Logger;
  /**
   * How long one Redis command may take before the lookup misses (`APQ_REDIS_TIMEOUT_MS`; default 100 ms: a request
   * never waits long on it).
   */
  commandTimeoutMs?: number;
}

export function createApqStore(options: ApqStoreOptions): ApqStore {
  const { logger } = options;
  // Fail fast, as for budgets: a request must never wait on a Redis that is not there.
  const redis = createRedisClient(options.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeoutMs: options.commandTimeoutMs ?? 100,
    connectTimeoutMs: 1_000,
    retryStrategy: (times) => Math.min(times * 50, 2_000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn('APQ cache unreachable; persisted query hashes miss until it is back', { error });
  });
  redis.on('ready', () => (down = false));
  return {
    async lookup(tenantId, hash) {
      if (!isTenantId(tenantId) || !isOperationId(hash)) return undefined;
      try {
        return (await redis.get(apqKey(tenantId, hash))) ?? undefined;
      } catch (error) {
        logger.warn('APQ lookup failed', { error });
        return undefined;
      }
    },
    async register(tenantId, hash, query) {
      if (!isTenantId(tenantId) || !isOperationId(hash) || operationId(query) !== hash) return;
      try {
        await redis.set(apqKey(tenantId, hash), query, 'EX', APQ_TTL_SECONDS);
      } catch (error) {
        logger.warn('APQ registration could not be stored', { error });
      }
    },
    async close() {
      await closeRedisClient(redis);
    },
  };
}
