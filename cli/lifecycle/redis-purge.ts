/**
 * Purges a tenant's Redis entries — budgets, usage counters (gateway/src/metering/keys.ts), APQ texts
 * (gateway/src/persisted/apq.ts, `tollgate:apq:v2:{tenant}:<sha256>`), and any cache or safelist entry that follows
 * the house rule of tagging a tenant's keys with `{tenant}` (the Redis Cluster hash tag, gateway/src/budget/keys.ts) —
 * with SCAN, never KEYS: bounded batches on every master, so a large keyspace costs time, not a blocked server.
 *
 * APQ texts were shared by every tenant under `tollgate:apq:v1:<sha256>` before they were kept per tenant: such keys
 * name no tenant, are no longer read, and expire within a day of the upgrade.
 */
import { Cluster } from 'ioredis';
import { isTenantId } from '../../common/ids';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../gateway/src/redis/connect';

export const SCAN_COUNT = 500;

/** The MATCH pattern of one tenant's keys. Tenant ids are slugs: nothing in them is a glob character. */
export function tenantKeyPattern(tenantId: string): string {
  if (!isTenantId(tenantId)) throw new Error('invalid tenant id');
  return `*{${tenantId}}*`;
}

async function purgeNode(node: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (keys.length > 0) {
      // One UNLINK per key: a cluster refuses a multi-key command whose keys span slots.
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      for (const [error, count] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        deleted += Number(count);
      }
    }
  } while (cursor !== '0');
  return deleted;
}

/** Deletes every `{tenant}`-tagged key on every master; returns how many. */
export async function purgeTenantKeys(redisUrl: string, tenantId: string): Promise<number> {
  const pattern = tenantKeyPattern(tenantId);
  const client = createRedisClient(redisUrl, {
    connectionName: 'tollgate-cli-erase',
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    commandTimeoutMs: 5_000,
    connectTimeoutMs: 3_000,
    retryStrategy: (times) => (times > 3 ? null : 200),
  });
  try {
    if (client instanceof Cluster) {
      await client.ping();
      let deleted = 0;
      for (const node of client.nodes('master')) deleted += await purgeNode(node, pattern);
      return deleted;
    }
    return await purgeNode(client, pattern);
  } finally {
    await closeRedisClient(client);
  }
}
