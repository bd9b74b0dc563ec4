/**
 * Checks a presented API key on every request without a database read per request: key records are cached like
 * tenants (refreshing-cache.ts) — invalidated by the announcement of a revocation or rotation, reloaded after a
 * lifetime below 5 s otherwise — so a revoked key stops working on every replica within 5 s even when an
 * announcement is lost. Verifying against the cached hash costs one SHA-256.
 *
 * A key id the key-id index (key-id-index.ts) does not hold is refused without any read: made-up keys cost memory
 * lookups only. Until the index is loaded every id is read as before.
 *
 * `lastUsedAt` is noted in memory and written in one batch per interval: at most one write per key per interval
 * per replica, however busy the key is.
 */
import type { Logger } from '../../../common/logger';
import type { ControlPlaneChange } from '../tenants/changes';
import {
  DEFAULT_CONTROL_PLANE_LOAD_TIMEOUT_MS,
  DEFAULT_CONTROL_PLANE_RETRY_MS,
  DEFAULT_CONTROL_PLANE_TTL_MS,
  RefreshingCache,
} from '../tenants/refreshing-cache';
import { apiKeyStatus, parseApiKey, secretMatches, type StoredApiKey } from './api-keys';
import type { KeyIdIndex } from './key-id-index';

/** Why a key was refused: for the log line only; the client gets the same answer for all of them. */
export type ApiKeyRefusal = 'malformed' | 'unknown' | 'bad-secret' | 'revoked' | 'expired' | 'rotated-out';

export type ApiKeyVerification =
  | { ok: true; key: StoredApiKey }
  | {
      ok: false;
      reason: ApiKeyRefusal;
      /** A key whose secret matched but whose state refused it: attributable to its tenant (the audit trail). */
      key?: Pick<StoredApiKey, 'id' | 'tenantId'>;
    };

/** What the verifier reads from and writes to: the API key registry, or a fake in tests. */
export interface ApiKeySource {
  findForVerification(keyId: string): Promise<StoredApiKey | undefined>;
  recordUse(lastUsed: ReadonlyMap<string, number>): Promise<void>;
}

export interface ApiKeyVerifierOptions {
  source: ApiKeySource;
  logger: Logger;
  /** Which key ids exist; without one every well-formed id is read from `source`. */
  knownKeyIds?: Pick<KeyIdIndex, 'excludes'>;
  ttlMs?: number;
  retryMs?: number;
  loadTimeoutMs?: number;
  maxKeys?: number;
  /** How often `lastUsedAt` is written. */
  usageFlushIntervalMs?: number;
  now?: () => number;
}

export class ApiKeyVerifier {
  private readonly keys: RefreshingCache<StoredApiKey>;
  private readonly source: ApiKeySource;
  private readonly knownKeyIds: Pick<KeyIdIndex, 'excludes'> | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly usage = new Map<string, number>();
  private readonly flushTimer: NodeJS.Timeout;

  constructor(options: ApiKeyVerifierOptions) {
    this.source = options.source;
    this.knownKeyIds = options.knownKeyIds;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.keys = new RefreshingCache<StoredApiKey>({
      ttlMs: options.ttlMs ?? DEFAULT_CONTROL_PLANE_TTL_MS,
      retryMs: options.retryMs ?? DEFAULT_CONTROL_PLANE_RETRY_MS,
      loadTimeoutMs: options.loadTimeoutMs ?? DEFAULT_CONTROL_PLANE_LOAD_TIMEOUT_MS,
      maxEntries: options.maxKeys ?? 100_000,
      now: this.now,
      load: (keyId) => this.source.findForVerification(keyId),
      onStale: (keyId, error) =>
        this.logger.warn('control plane unreadable; serving the cached API key', { apiKeyId: keyId, error }),
    });
    this.flushTimer = setInterval(() => void this.flushUsage(), options.usageFlushIntervalMs ?? 60_000);
    this.flushTimer.unref();
  }

  /** Throws `ControlPlaneUnavailableError` when the key's record cannot be read and is not cached. */
  async verify(presented: string): Promise<ApiKeyVerification> {
    const parsed = parseApiKey(presented);
    if (!parsed) return { ok: false, reason: 'malformed' };
    if (this.knownKeyIds?.excludes(parsed.keyId)) return { ok: false, reason: 'unknown' };
    return this.judge(parsed.secret, await this.keys.get(parsed.keyId));
  }

  /**
   * The same verdict from memory alone (the key-id index and a fresh cached record), or `undefined` when it would
   * take a read: for a client the failed-authentication limiter holds back (http.ts).
   */
  verifyFromMemory(presented: string): ApiKeyVerification | undefined {
    const parsed = parseApiKey(presented);
    if (!parsed) return { ok: false, reason: 'malformed' };
    if (this.knownKeyIds?.excludes(parsed.keyId)) return { ok: false, reason: 'unknown' };
    const key = this.keys.peekFresh(parsed.keyId);
    return key ? this.judge(parsed.secret, key) : undefined;
  }

  private judge(secret: string, key: StoredApiKey | undefined): ApiKeyVerification {
    if (!key) return { ok: false, reason: 'unknown' };
    // The secret is checked before the key's state, so only its holder can learn that a key is revoked or expired.
    if (!secretMatches(secret, key.secretHash)) return { ok: false, reason: 'bad-secret' };
    const now = this.now();
    const status = apiKeyStatus(key, now);
    if (status === 'revoked' || status === 'expired' || status === 'rotated-out')
      return { ok: false, reason: status, key: { id: key.id, tenantId: key.tenantId } };
    this.usage.set(key.id, now);
    return { ok: true, key };
  }

  applyChange(change: ControlPlaneChange): void {
    if (change.kind === 'apiKey') this.keys.invalidate(change.id);
  }

  resync(): void {
    this.keys.invalidateAll();
  }

  /** Writes the pending `lastUsedAt` values; a failed write is logged and the values are kept for the next one. */
  async flushUsage(): Promise<void> {
    if (this.usage.size === 0) return;
    const batch = new Map(this.usage);
    this.usage.clear();
    try {
      await this.source.recordUse(batch);
    } catch (error) {
      for (const [keyId, at] of batch) if (!this.usage.has(keyId)) this.usage.set(keyId, at);
      this.logger.warn('could not record API key use', { keys: batch.size, error });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushUsage();
  }
}
