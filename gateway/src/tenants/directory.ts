/**
 * The tenant directory: what every stage asks about a tenant — its status, resolved plan limits, origins and modes —
 * answered from memory and kept current by change announcements (changes.ts) and a short lifetime as backstop
 * (refreshing-cache.ts). Authentication looks the caller's tenant up on every request, so a suspension applies to
 * tokens and keys already verified and cached; the stages after it find the tenant loaded and can read it
 * synchronously with `peek`.
 */
import { isTenantId } from '../../../common/ids';
import type { Logger } from '../../../common/logger';
import type { ControlPlaneChange } from './changes';
import {
  DEFAULT_CONTROL_PLANE_LOAD_TIMEOUT_MS,
  DEFAULT_CONTROL_PLANE_RETRY_MS,
  DEFAULT_CONTROL_PLANE_TTL_MS,
  RefreshingCache,
} from './refreshing-cache';
import type { TenantRecord } from './tenant';

/** The caller's tenant is not in the registry (or the id could never be one). */
export class UnknownTenantError extends Error {
  constructor() {
    super('unknown tenant');
    this.name = 'UnknownTenantError';
  }
}

export interface TenantDirectory {
  /**
   * The tenant's current record with its plan's limits resolved. Throws `UnknownTenantError` for a tenant the
   * registry does not have, `ControlPlaneUnavailableError` (refreshing-cache.ts) when it cannot be read and nothing
   * is cached.
   */
  tenantFor(id: string): Promise<TenantRecord>;
  /**
   * The record last loaded, without reading anything: for stages that run after authentication, which loaded the
   * caller's tenant for this very request. `undefined` only for a tenant nobody asked `tenantFor` about.
   */
  peek(id: string): TenantRecord | undefined;
  /** Whether some active tenant allows this web origin: all a preflight, which carries no credentials, can tell. */
  allowsOriginForSomeTenant(origin: string): Promise<boolean>;
  /**
   * Whether some tenant is cached: a failed reload serves the cached record (refreshing-cache.ts), so a warm
   * directory keeps authenticating its tenants while the control plane is unreachable (readiness, health.ts).
   */
  warm(): boolean;
  /** Drops what the change made stale. */
  applyChange(change: ControlPlaneChange): void;
  /** Drops everything: announcements may have been missed. */
  resync(): void;
}

/** What the directory reads from: the registry, or a fake in tests. */
export interface TenantSource {
  getTenant(id: string): Promise<TenantRecord | undefined>;
  activeOrigins(): Promise<string[]>;
}

export interface TenantDirectoryOptions {
  source: TenantSource;
  logger: Logger;
  /** How long an entry is served without reloading; below the 5 s in which changes must be in force everywhere. */
  ttlMs?: number;
  /** After a failed reload, how long the stale entry is served before the next attempt. */
  retryMs?: number;
  loadTimeoutMs?: number;
  maxTenants?: number;
  now?: () => number;
}

const ORIGINS_KEY = 'origins';

export function createTenantDirectory(options: TenantDirectoryOptions): TenantDirectory {
  const { source, logger } = options;
  const common = {
    ttlMs: options.ttlMs ?? DEFAULT_CONTROL_PLANE_TTL_MS,
    retryMs: options.retryMs ?? DEFAULT_CONTROL_PLANE_RETRY_MS,
    loadTimeoutMs: options.loadTimeoutMs ?? DEFAULT_CONTROL_PLANE_LOAD_TIMEOUT_MS,
    now: options.now ?? Date.now,
  };
  const tenants = new RefreshingCache<TenantRecord>({
    ...common,
    // Tenants are few (a registry's worth) and a stage's `peek` relies on the caller's tenant staying in memory.
    maxEntries: options.maxTenants ?? 100_000,
    load: (id) => source.getTenant(id),
    onStale: (id, error) => logger.warn('control plane unreadable; serving the cached tenant', { tenant: id, error }),
  });
  const origins = new RefreshingCache<ReadonlySet<string>>({
    ...common,
    maxEntries: 1,
    load: async () => new Set(await source.activeOrigins()),
    onStale: (_key, error) => logger.warn('control plane unreadable; serving the cached allowed origins', { error }),
  });

  return {
    async tenantFor(id) {
      if (!isTenantId(id)) throw new UnknownTenantError();
      const tenant = await tenants.get(id);
      if (!tenant) throw new UnknownTenantError();
      return tenant;
    },
    peek: (id) => tenants.peek(id),
    warm: () => tenants.size > 0,
    async allowsOriginForSomeTenant(origin) {
      const allowed = await origins.get(ORIGINS_KEY);
      return allowed?.has(origin) ?? false;
    },
    applyChange(change) {
      if (change.kind === 'tenant') {
        tenants.invalidate(change.id);
        origins.invalidateAll();
      } else if (change.kind === 'plan') {
        tenants.invalidateWhere((tenant) => tenant.plan.id === change.id);
      }
    },
    resync() {
      tenants.invalidateAll();
      origins.invalidateAll();
    },
  };
}
