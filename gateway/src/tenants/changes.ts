/**
 * Control-plane changes announced over Redis pub/sub, so every gateway replica drops what it cached about a tenant,
 * plan or API key the moment it changes instead of when its cache entry ages out.
 *
 * Pub/sub delivers at most once, and only to subscribers connected at that moment: the announcement is an
 * accelerator, never the only path. The caches keep a short lifetime as a backstop, and a subscriber that
 * (re)connects asks its caches to reload everything, since it may have missed announcements while away.
 */
import type { Logger } from '../../../common/logger';
import { closeRedisClient, createRedisClient } from '../redis/connect';

export type ControlPlaneChange =
  | { kind: 'tenant'; id: string }
  | { kind: 'plan'; id: string }
  | { kind: 'apiKey'; id: string }
  /** A persisted-operation manifest of the tenant `id` was published or retired. */
  | { kind: 'manifest'; id: string }
  /** A supergraph was published (supergraph/registry.ts): `id` is the version, the SHA-256 of its SDL. */
  | { kind: 'supergraph'; id: string };

const KINDS: ReadonlySet<string> = new Set(['tenant', 'plan', 'apiKey', 'manifest', 'supergraph']);
/** Ids of every kind are short slugs or base62; anything else on the channel is not ours. */
const CHANGE_ID = /^[A-Za-z0-9-]{1,64}$/;

/** One channel per control-plane database, so deployments (and test runs) sharing a Redis do not disturb each other. */
export function changesChannel(dbName: string): string {
  return `tollgate:control-plane:${dbName}:changes`;
}

export function parseChange(message: string): ControlPlaneChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, id } = value as { kind?: unknown; id?: unknown };
  if (typeof kind !== 'string' || !KINDS.has(kind) || typeof id !== 'string' || !CHANGE_ID.test(id)) return undefined;
  return { kind, id } as ControlPlaneChange;
}

export interface ChangePublisher {
  /** Announces a change that is already stored. Never throws: a failed announcement is reported to `onError`. */
  publish(change: ControlPlaneChange): Promise<void>;
  close(): Promise<void>;
}

export interface ChangePublisherOptions {
  redisUrl: string;
  dbName: string;
  /** Told when an announcement could not be made; the change itself is stored, and caches expire it anyway. */
  onError: (error: unknown) => void;
}

/**
 * A publisher for whoever writes the control plane (the CLI, tests). Redis being down must not fail a write that
 * already happened, and must not make the CLI hang: no offline queue, a short connect and command timeout.
 */
export function createChangePublisher(options: ChangePublisherOptions): ChangePublisher {
  const redis = createRedisClient(options.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeoutMs: 1_000,
    commandTimeoutMs: 1_000,
    retryStrategy: () => null,
  });
  // Without a listener ioredis reports connection errors as unhandled; `onError` hears about failed publishes.
  redis.on('error', () => undefined);
  // One connection attempt at a time; after a failed one the next publish tries again.
  let connecting: Promise<void> | undefined;
  const connected = (): Promise<void> => {
    if (redis.status === 'ready') return Promise.resolve();
    connecting ??= redis.connect().finally(() => (connecting = undefined));
    return connecting;
  };
  const channel = changesChannel(options.dbName);
  return {
    async publish(change) {
      try {
        await connected();
        await redis.publish(channel, JSON.stringify(change));
      } catch (error) {
        options.onError(error);
      }
    },
    async close() {
      await closeRedisClient(redis);
    },
  };
}

export interface ChangeSubscriberOptions {
  redisUrl: string;
  dbName: string;
  logger: Logger;
  onChange: (change: ControlPlaneChange) => void;
  /** The subscription was (re)established: announcements may have been missed, so everything cached is suspect. */
  onResync: () => void;
}

export interface ChangeSubscription {
  /** Settles when the first subscription is in place; it never rejects (Redis may come later). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Subscribes for as long as the gateway runs. Redis being down at start or later is not fatal: ioredis keeps
 * reconnecting, the caches serve within their lifetime meanwhile, and the log says so once per outage rather than
 * once per retry. Each (re)connection subscribes first and only then asks the caches to reload, so no change can
 * fall between the reload and the subscription.
 */
export function subscribeToChanges(options: ChangeSubscriberOptions): ChangeSubscription {
  const { logger } = options;
  const channel = changesChannel(options.dbName);
  // On a Redis Cluster the subscription lives on one node (ioredis moves it when that node goes); classic PUBLISH
  // reaches every node, so it hears announcements published through any of them (redis/connect.ts).
  const redis = createRedisClient(options.redisUrl, {
    // Subscribing is done here on every `ready`, never queued for a connection that is not there.
    autoResubscribe: false,
    enableOfflineQueue: false,
    // Names the connection in CLIENT LIST, per control plane.
    connectionName: `tollgate-changes:${options.dbName}`,
    connectTimeoutMs: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  let closed = false;
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  const lost = (error?: Error) => {
    if (down || closed) return;
    down = true;
    logger.warn('control-plane change subscription lost; serving cached tenants and keys within their lifetime', {
      ...(error ? { error: error.message } : {}),
    });
  };
  // A refused connection is an `error`; a connection the server closed is only a `close`.
  redis.on('error', lost);
  redis.on('close', () => lost());
  redis.on('ready', () => {
    redis.subscribe(channel).then(
      () => {
        if (down) logger.info('control-plane change subscription restored; reloading cached tenants and keys');
        down = false;
        options.onResync();
        subscribed();
      },
      (error: unknown) => {
        if (!closed) logger.warn('could not subscribe to control-plane changes', { error });
      },
    );
  });
  redis.on('message', (received: string, message: string) => {
    if (received !== channel) return;
    const change = parseChange(message);
    if (change) options.onChange(change);
    else logger.warn('ignored a malformed control-plane change announcement');
  });
  return {
    ready,
    async close() {
      closed = true;
      redis.disconnect();
    },
  };
}
