/**
 * Which API key ids exist, in memory, so a made-up key (`tg_live_` + any 12 + any 40 base62 characters: no
 * credential is needed to make one up) is refused without a read of the control plane. Key ids are public and
 * small; the index holds ids only (about 80 bytes each in a Set: 100,000 keys ≈ 8 MB), never a record or a hash.
 *
 * No false negatives is what matters — an id missing from the index is a working key refused — so the index is
 * filled from three directions:
 * - at start, every stored id (awaited for at most `loadTimeoutMs`; until a full load has succeeded the index
 *   answers "don't know" and verification reads MongoDB as it did before, with its SERVICE_UNAVAILABLE semantics);
 * - the change announcement of a new key (ApiKeyRegistry publishes `apiKey` on every insert) adds its id on every
 *   replica at once;
 * - every `refreshMs` the ids created since the newest one seen (minus `clockSkewMs`, since `createdAt` comes from
 *   the writer's clock) are read, so a key created while Redis is down works within one refresh; every
 *   `fullReloadMs` the whole set is reloaded, which also forgets deleted ids and anything a skewed clock hid.
 * A false positive (an id that no longer exists) only costs the read the gateway made for every key before.
 */
import type { Logger } from '../../../common/logger';
import type { ControlPlaneChange } from '../tenants/changes';

export const DEFAULT_KEY_ID_REFRESH_MS = 4_000;
export const DEFAULT_KEY_ID_FULL_RELOAD_MS = 300_000;

/** What the index reads: the API key registry (`listKeyIds`), or a fake in tests. */
export interface KeyIdSource {
  listKeyIds(createdSince?: Date): Promise<{ id: string; createdAt: Date }[]>;
}

export interface KeyIdIndexOptions {
  source: KeyIdSource;
  logger: Logger;
  /** How often the ids created since the last refresh are read: how late a key created while Redis is down works. */
  refreshMs?: number;
  /** How often the whole set is read again. */
  fullReloadMs?: number;
  /** A read that takes longer counts as failed. */
  loadTimeoutMs?: number;
  /** How far behind the newest `createdAt` seen an incremental refresh starts: writers' clocks may disagree. */
  clockSkewMs?: number;
  now?: () => number;
}

export interface KeyIdIndex {
  /**
   * True only when the index is loaded and the id is not in it: the key certainly does not exist (as of the last
   * refresh or announcement). False means "verify as usual".
   */
  excludes(keyId: string): boolean;
  readonly loaded: boolean;
  readonly size: number;
  /** Adds the id of an announced key. */
  applyChange(change: ControlPlaneChange): void;
  /** Announcements may have been missed: refresh now. */
  resync(): void;
  /** One refresh (full when due or never done); resolves when it ended, failed or not. */
  refresh(): Promise<void>;
  /** The first full load, waited for at most `loadTimeoutMs`, and the periodic refresh from then on. */
  start(): Promise<void>;
  close(): void;
}

export function createKeyIdIndex(options: KeyIdIndexOptions): KeyIdIndex {
  const { source, logger } = options;
  const refreshMs = options.refreshMs ?? DEFAULT_KEY_ID_REFRESH_MS;
  const fullReloadMs = options.fullReloadMs ?? DEFAULT_KEY_ID_FULL_RELOAD_MS;
  const loadTimeoutMs = options.loadTimeoutMs ?? 1_500;
  const clockSkewMs = options.clockSkewMs ?? 60_000;
  const now = options.now ?? Date.now;

  let ids: Set<string> | undefined;
  /** Ids announced while a full load is under way: the load's answer may predate them. */
  let announcedDuringLoad: Set<string> | undefined;
  let newestCreatedAt: number | undefined;
  let lastFullLoadAt = -Infinity;
  let running: Promise<void> | undefined;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;

  const withTimeout = <T>(promise: Promise<T>): Promise<T> => {
    let handle: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      handle = setTimeout(() => reject(new Error(`read timed out after ${loadTimeoutMs} ms`)), loadTimeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(handle));
  };

  const noteNewest = (rows: readonly { createdAt: Date }[]) => {
    for (const row of rows) {
      const at = row.createdAt instanceof Date ? row.createdAt.getTime() : NaN;
      if (Number.isFinite(at) && (newestCreatedAt === undefined || at > newestCreatedAt)) newestCreatedAt = at;
    }
  };

  const fullLoad = async () => {
    const startedAt = now();
    announcedDuringLoad = new Set();
    try {
      const rows = await withTimeout(source.listKeyIds());
      const loaded = new Set(rows.map((row) => row.id));
      for (const id of announcedDuringLoad) loaded.add(id);
      ids = loaded;
      newestCreatedAt = undefined;
      noteNewest(rows);
      lastFullLoadAt = startedAt;
    } finally {
      announcedDuringLoad = undefined;
    }
  };

  const incremental = async (current: Set<string>) => {
    const since = newestCreatedAt === undefined ? undefined : new Date(newestCreatedAt - clockSkewMs);
    const rows = await withTimeout(source.listKeyIds(since));
    for (const row of rows) current.add(row.id);
    noteNewest(rows);
  };

  const refreshOnce = async () => {
    try {
      if (ids === undefined || now() - lastFullLoadAt >= fullReloadMs) await fullLoad();
      else await incremental(ids);
      if (failing) logger.info('API key index refreshed again');
      failing = false;
    } catch (error) {
      // Logged once per outage; what the index holds stays in use (an empty control plane is no reason to forget).
      if (!failing) {
        logger.warn(
          ids
            ? 'API key index could not be refreshed; serving the ids it has'
            : 'API key index could not be loaded; API keys are read from the control plane',
          { error },
        );
      }
      failing = true;
    }
  };

  const refresh = () => {
    running ??= refreshOnce().finally(() => (running = undefined));
    return running;
  };

  return {
    excludes: (keyId) => ids !== undefined && !ids.has(keyId),
    get loaded() {
      return ids !== undefined;
    },
    get size() {
      return ids?.size ?? 0;
    },
    applyChange(change) {
      if (change.kind !== 'apiKey') return;
      ids?.add(change.id);
      announcedDuringLoad?.add(change.id);
    },
    resync() {
      void refresh();
    },
    refresh,
    async start() {
      timer ??= setInterval(() => void refresh(), refreshMs);
      timer.unref();
      await refresh();
    },
    close() {
      clearInterval(timer);
    },
  };
}
