/**
 * The gateway's copy of the served manifests, one entry per tenant and client, kept like tenants and keys
 * (refreshing-cache.ts): answered from memory, dropped when a publish or retire of that tenant is announced, and
 * reloaded after a lifetime below 5 s otherwise. A client with nothing served is cached too (as an empty list), so
 * a partner calling with a manifest nobody published costs no database read per request.
 */
import type { Logger } from '../../../common/logger';
import type { ControlPlaneChange } from '../tenants/changes';
import {
  DEFAULT_CONTROL_PLANE_LOAD_TIMEOUT_MS,
  DEFAULT_CONTROL_PLANE_RETRY_MS,
  DEFAULT_CONTROL_PLANE_TTL_MS,
  RefreshingCache,
} from '../tenants/refreshing-cache';
import type { PersistedOperation } from './manifest';
import type { ManifestVersion } from './registry';

/** The operations a tenant's client may run, by id; `version` is absent when nothing is served. */
export interface ServedManifest {
  readonly tenantId: string;
  readonly client: string;
  readonly version?: number;
  readonly operations: ReadonlyMap<string, PersistedOperation>;
}

export interface ManifestSource {
  served(tenantId: string, client: string): Promise<ManifestVersion | undefined>;
}

export interface ManifestCatalog {
  /** Throws `ControlPlaneUnavailableError` when the manifest cannot be read and nothing is cached. */
  manifestFor(tenantId: string, client: string): Promise<ServedManifest>;
  applyChange(change: ControlPlaneChange): void;
  resync(): void;
}

export interface ManifestCatalogOptions {
  source: ManifestSource;
  logger: Logger;
}

/** Manifests kept in memory, least recently used dropped first: a few per tenant. */
const MAX_MANIFESTS = 10_000;

export function createManifestCatalog(options: ManifestCatalogOptions): ManifestCatalog {
  const { source, logger } = options;
  const cache = new RefreshingCache<ServedManifest>({
    ttlMs: DEFAULT_CONTROL_PLANE_TTL_MS,
    retryMs: DEFAULT_CONTROL_PLANE_RETRY_MS,
    loadTimeoutMs: DEFAULT_CONTROL_PLANE_LOAD_TIMEOUT_MS,
    maxEntries: MAX_MANIFESTS,
    now: Date.now,
    load: async (key) => {
      const [tenantId = '', client = ''] = key.split('/');
      const served = await source.served(tenantId, client);
      return {
        tenantId,
        client,
        ...(served ? { version: served.version } : {}),
        operations: new Map(served?.operations.map((operation) => [operation.id, operation])),
      };
    },
    onStale: (key, error) =>
      logger.warn('control plane unreadable; serving the cached manifest', { manifest: key, error }),
  });
  return {
    // Tenant ids and manifest names cannot contain "/", so the key is unambiguous.
    manifestFor: async (tenantId, client) => (await cache.get(`${tenantId}/${client}`))!,
    applyChange(change) {
      if (change.kind === 'manifest') cache.invalidateWhere((manifest) => manifest.tenantId === change.id);
    },
    resync: () => cache.invalidateAll(),
  };
}
