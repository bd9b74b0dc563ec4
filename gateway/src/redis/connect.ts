/**
 * The one place a Redis client is made. `REDIS_URL` names the topology, so every client of the gateway and the CLI
 * (budgets, APQ, the change publisher and subscriber) runs on a single node, a Sentinel-managed primary or a Redis
 * Cluster alike:
 *
 *   redis://[user:pass@]host:port[/db]              one node (rediss:// for TLS)
 *   redis+sentinel://[user:pass@]h1:p1,h2:p2/name    the primary Sentinel knows as `name` (rediss+sentinel:// for TLS
 *                                                   to the data nodes; the same credentials go to the Sentinels)
 *   redis+cluster://[user:pass@]h1:p1,h2:p2          a Redis Cluster, from any of its nodes (rediss+cluster:// for TLS)
 *
 * Why one URL rather than separate variables: the topology, the nodes and the credentials travel together through
 * Secrets and compose files, and one value cannot be half-changed.
 *
 * What Cluster asks of the callers (checked in redis/cluster.test.ts): every key one Lua script touches hashes to one
 * slot (budget keys carry their tenant as a hash tag, budget/keys.ts), and change announcements use classic PUBLISH,
 * which the cluster bus forwards to every node — a subscriber hears them whichever node it is connected to. Sharded
 * pub/sub (SPUBLISH) would only reach the channel's slot owner and its replicas, and needs Redis 7.
 */
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

interface Endpoint {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | { kind: 'sentinel'; sentinels: Endpoint[]; name: string; username?: string; password?: string; tls: boolean }
  | { kind: 'cluster'; nodes: Endpoint[]; username?: string; password?: string; tls: boolean };

export class RedisUrlError extends Error {
  constructor(reason: string) {
    super(`REDIS_URL ${reason}`);
    this.name = 'RedisUrlError';
  }
}

const SCHEMES = ['redis:', 'rediss:', 'redis+sentinel:', 'rediss+sentinel:', 'redis+cluster:', 'rediss+cluster:'];
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;
const SENTINEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** The schemes REDIS_URL accepts, for messages. */
export const REDIS_URL_SCHEMES: readonly string[] = SCHEMES;

function endpoints(list: string, defaultPort: number): Endpoint[] {
  const parts = list.split(',');
  return parts.map((part) => {
    const match = /^(.+?)(?::(\d{1,5}))?$/.exec(part);
    const host = match?.[1] ?? '';
    const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
    if (!HOST.test(host) || port < 1 || port > 65_535) throw new RedisUrlError(`has an invalid host "${part}"`);
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
}

/** Parses and validates REDIS_URL. Throws `RedisUrlError` with a message that never repeats a password. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+:)\/\//.exec(url)?.[1];
  if (!scheme || !SCHEMES.includes(scheme))
    throw new RedisUrlError(`must be a ${SCHEMES.slice(0, -1).join(', ')} or ${SCHEMES.at(-1)} URL`);
  if (scheme === 'redis:' || scheme === 'rediss:') {
    try {
      new URL(url);
    } catch {
      throw new RedisUrlError('must be a URL');
    }
    return { kind: 'standalone', url };
  }
  const rest = url.slice(scheme.length + 2);
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const [authority = '', ...pathParts] = rest.slice(at + 1).split('/');
  const path = pathParts.join('/');
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    try {
      username = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || undefined;
      password = colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) || undefined : undefined;
    } catch {
      throw new RedisUrlError('has badly encoded credentials');
    }
  }
  const tls = scheme.startsWith('rediss');
  const nodes = endpoints(authority, scheme.endsWith('sentinel:') ? 26_379 : 6_379);
  if (scheme.endsWith('sentinel:')) {
    if (!SENTINEL_NAME.test(path))
      throw new RedisUrlError("needs the primary's name as its path (redis+sentinel://h1:26379,h2:26379/mymaster)");
    return { kind: 'sentinel', sentinels: nodes, name: path, username, password, tls };
  }
  if (path !== '') throw new RedisUrlError('of a cluster takes no path (a cluster has only database 0)');
  return { kind: 'cluster', nodes, username, password, tls };
}

/**
 * How a client behaves when Redis is slow or gone; the same knobs whatever the topology. Each caller decides
 * (requests never wait on Redis; the subscriber reconnects forever; the CLI tries once).
 */
export interface RedisClientOptions {
  /** Names the connection in CLIENT LIST. */
  connectionName?: string;
  /** Queue commands while disconnected (false: fail at once). */
  enableOfflineQueue: boolean;
  maxRetriesPerRequest?: number;
  commandTimeoutMs?: number;
  connectTimeoutMs: number;
  /** Connect on the first command or `connect()` rather than at once. */
  lazyConnect?: boolean;
  /** Re-send commands left unanswered by a dropped connection after reconnecting. */
  autoResendUnfulfilledCommands?: boolean;
  autoResubscribe?: boolean;
  /** Delay before reconnect attempt `times`, or null to give up. */
  retryStrategy: (times: number) => number | null;
}

/** A client for `REDIS_URL` (or an already parsed target) with the given behaviour. */
export function createRedisClient(target: string | RedisTarget, options: RedisClientOptions): RedisClient {
  const parsed = typeof target === 'string' ? parseRedisUrl(target) : target;
  const node: RedisOptions = {
    enableOfflineQueue: options.enableOfflineQueue,
    connectTimeout: options.connectTimeoutMs,
    ...(options.connectionName !== undefined ? { connectionName: options.connectionName } : {}),
    ...(options.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: options.maxRetriesPerRequest } : {}),
    ...(options.commandTimeoutMs !== undefined ? { commandTimeout: options.commandTimeoutMs } : {}),
    ...(options.autoResendUnfulfilledCommands !== undefined
      ? { autoResendUnfulfilledCommands: options.autoResendUnfulfilledCommands }
      : {}),
    ...(options.autoResubscribe !== undefined ? { autoResubscribe: options.autoResubscribe } : {}),
  };
  if (parsed.kind === 'standalone') {
    return new Redis(parsed.url, {
      ...node,
      lazyConnect: options.lazyConnect ?? false,
      retryStrategy: options.retryStrategy,
    });
  }
  const credentials = {
    ...(parsed.username ? { username: parsed.username } : {}),
    ...(parsed.password ? { password: parsed.password } : {}),
  };
  if (parsed.kind === 'sentinel') {
    return new Redis({
      ...node,
      ...credentials,
      sentinels: parsed.sentinels,
      name: parsed.name,
      ...(parsed.username ? { sentinelUsername: parsed.username } : {}),
      ...(parsed.password ? { sentinelPassword: parsed.password } : {}),
      ...(parsed.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      lazyConnect: options.lazyConnect ?? false,
      // Sentinel mode retries through `sentinelRetryStrategy` while no Sentinel answers, then `retryStrategy`.
      sentinelRetryStrategy: options.retryStrategy,
      retryStrategy: options.retryStrategy,
    });
  }
  const cluster: ClusterOptions = {
    // Per-node connections carry the timeouts and the credentials; the cluster its own queue and reconnects.
    redisOptions: { ...node, ...credentials, ...(parsed.tls ? { tls: {} } : {}) },
    enableOfflineQueue: options.enableOfflineQueue,
    lazyConnect: options.lazyConnect ?? false,
    clusterRetryStrategy: options.retryStrategy,
    // A MOVED/ASK after a failover is followed a few times, not 16: requests must not wait on a resharding cluster.
    maxRedirections: 4,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
  };
  return new Cluster(parsed.nodes, cluster);
}

/** Closes a client gracefully when it is connected, at once otherwise (quit would wait for a connection). */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  else client.disconnect();
}
