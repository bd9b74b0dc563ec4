/**
 * The gateway's copy of control-plane documents (tenants, API keys): answered from memory on almost every
 * request, reloaded from MongoDB when an entry is older than its lifetime or was invalidated by an announcement
 * (changes.ts).
 *
 * The lifetime is what bounds staleness when an announcement is lost, so it is kept below the platform's promise
 * (changes are in force everywhere within 5 s). When MongoDB cannot be read, an entry the gateway already has is
 * served stale rather than refusing the tenant's traffic, and retried after a pause so a dead database costs one
 * timed-out read per pause, not one per request; an entry it never had cannot be guessed and fails closed.
 */

/** Below the 5 s within which a change must be in force on every replica, with room for the reload itself. */
export const DEFAULT_CONTROL_PLANE_TTL_MS = 4_000;
export const DEFAULT_CONTROL_PLANE_RETRY_MS = 1_000;
/** A request waits at most this long for the control plane before it is answered from cache or refused. */
export const DEFAULT_CONTROL_PLANE_LOAD_TIMEOUT_MS = 1_500;

/** The control plane could not be read and nothing usable was cached: the request must fail closed. */
export class ControlPlaneUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the control plane could not be read', options);
    this.name = 'ControlPlaneUnavailableError';
  }
}

export interface RefreshingCacheOptions<V> {
  /** Reads the current document; `undefined` when there is none (absence is not cached). */
  load: (key: string) => Promise<V | undefined>;
  ttlMs: number;
  /** After a failed reload, how long the stale entry is served before the next attempt. */
  retryMs: number;
  /** A read that takes longer counts as failed: a hung database must not hang requests. */
  loadTimeoutMs: number;
  /** Entries kept, least recently used dropped first. */
  maxEntries: number;
  now: () => number;
  /** Told each time a stale entry is served because a reload failed. */
  onStale: (key: string, error: unknown) => void;
}

interface Entry<V> {
  value: V;
  freshUntil: number;
  /** When the entry last moved to the back of the eviction order. */
  touchedAt: number;
}

const LRU_TOUCH_INTERVAL_MS = 1_000;

export class RefreshingCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V | undefined>>();
  /** Bumped by every invalidation: a read that started before one may hold what the change replaced. */
  private epoch = 0;

  constructor(private readonly options: RefreshingCacheOptions<V>) {}

  /** The current value, reloading it first when the cached one is too old or was invalidated. */
  get(key: string): Promise<V | undefined> {
    const entry = this.entries.get(key);
    const now = this.options.now();
    if (entry && entry.freshUntil > now) {
      // Least recently used goes first when full; moving a busy key to the back once a second keeps that order
      // closely enough without a delete and an insert on every request.
      if (entry.touchedAt + LRU_TOUCH_INTERVAL_MS <= now) {
        entry.touchedAt = now;
        this.entries.delete(key);
        this.entries.set(key, entry);
      }
      return Promise.resolve(entry.value);
    }
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.reload(key).finally(() => {
        if (this.loading.get(key) === pending) this.loading.delete(key);
      });
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** The cached value only while it is fresh (not expired, not invalidated), without reading anything. */
  peekFresh(key: string): V | undefined {
    const entry = this.entries.get(key);
    return entry && entry.freshUntil > this.options.now() ? entry.value : undefined;
  }

  /** How many entries are cached, fresh or not. */
  get size(): number {
    return this.entries.size;
  }

  /** What is cached, fresh or not, without reading anything. */
  peek(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** The next `get` reloads; until the reload succeeds the old value is still what a failed reload serves. */
  invalidate(key: string): void {
    this.epoch++;
    this.loading.delete(key);
    const entry = this.entries.get(key);
    if (entry) entry.freshUntil = 0;
  }

  invalidateWhere(predicate: (value: V) => boolean): void {
    for (const [key, entry] of this.entries) if (predicate(entry.value)) this.invalidate(key);
  }

  invalidateAll(): void {
    this.epoch++;
    this.loading.clear();
    for (const entry of this.entries.values()) entry.freshUntil = 0;
  }

  private async reload(key: string): Promise<V | undefined> {
    const { now, ttlMs, retryMs } = this.options;
    const startedIn = this.epoch;
    let value: V | undefined;
    try {
      value = await this.loadWithTimeout(key);
    } catch (error) {
      const stale = this.entries.get(key);
      if (!stale) throw new ControlPlaneUnavailableError({ cause: error });
      stale.freshUntil = now() + retryMs;
      this.options.onStale(key, error);
      return stale.value;
    }
    if (value === undefined) {
      this.entries.delete(key);
      return undefined;
    }
    // Stored even when an invalidation overtook the read (it is the best fallback there is), but not as fresh.
    const freshUntil = startedIn === this.epoch ? now() + ttlMs : 0;
    this.entries.delete(key);
    this.entries.set(key, { value, freshUntil, touchedAt: now() });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return value;
  }

  private loadWithTimeout(key: string): Promise<V | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`read timed out after ${this.options.loadTimeoutMs} ms`)),
        this.options.loadTimeoutMs,
      );
    });
    return Promise.race([this.options.load(key), timeout]).finally(() => clearTimeout(timer));
  }
}
