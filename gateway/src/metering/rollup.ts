/**
 * The rollup: every replica, every `intervalMs`, copies each tenant's hour counters from Redis to MongoDB
 * (store.ts). Idempotent (`$max` of totals, never `$inc`), so replicas running it concurrently, or one running it
 * twice, write the same documents. It covers the hours since its last complete run plus one (an hour's counts go
 * on growing until it ends), and at most the hours Redis keeps (HOUR_KEY_TTL_SECONDS): after a MongoDB outage it
 * catches up. Its last run happens when the gateway stops.
 */
import type { Logger } from '../../../common/logger';
import type { RedisClient } from '../redis/connect';
import { recentHours } from './buckets';
import { readLiveHours } from './live';
import { HOUR_KEY_TTL_SECONDS } from './meter';
import type { UsageStore } from './store';

const MAX_HOURS = HOUR_KEY_TTL_SECONDS / 3_600;

export interface RollupOptions {
  readonly redis: RedisClient;
  readonly keyPrefix: string;
  readonly store: UsageStore;
  /** Every tenant id (the control plane's registry): a tenant served only by a replica that died is rolled up too. */
  readonly tenantIds: () => Promise<string[]>;
  readonly logger: Logger;
  /** 0: only on demand (`run`) and at `stop`. */
  readonly intervalMs: number;
  readonly now?: () => number;
}

export interface UsageRollup {
  /** One complete run now; rejects when Redis or MongoDB failed (the next run retries everything it covered). */
  run(): Promise<void>;
  /** Stops the timer, then a last run (its failure is logged). */
  stop(): Promise<void>;
}

export function createUsageRollup(options: RollupOptions): UsageRollup {
  const { redis, keyPrefix, store, logger } = options;
  const now = options.now ?? Date.now;
  /** Start of the oldest hour the next run must cover; unset: every hour Redis keeps. */
  let coverFrom: number | undefined;
  let chain: Promise<void> = Promise.resolve();
  let busy = false;
  let timer: NodeJS.Timeout | undefined;

  const runOnce = async () => {
    const started = now();
    const hourCount =
      coverFrom === undefined
        ? MAX_HOURS
        : Math.min(MAX_HOURS, Math.floor(started / 3_600_000) - Math.floor(coverFrom / 3_600_000) + 1);
    const hours = recentHours(started, Math.max(1, hourCount));
    for (const tenantId of await options.tenantIds()) {
      const counted = await readLiveHours(redis, keyPrefix, tenantId, hours);
      await store.writeHours(tenantId, counted);
    }
    // The hour this run started in is still counting: the next run covers it again.
    coverFrom = Math.floor(started / 3_600_000) * 3_600_000;
  };

  // One run at a time, each after the one before: a caller's run starts after it asked, so it sees what was
  // counted until then.
  const run = () => {
    busy = true;
    const next = chain.then(runOnce);
    // The chain itself never rejects: the caller of `run` gets the failure, nobody else.
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    chain = settled;
    void settled.then(() => {
      if (chain === settled) busy = false;
    });
    return next;
  };

  if (options.intervalMs > 0) {
    timer = setInterval(() => {
      // A slow run is not piled onto by the ticks.
      if (busy) return;
      run().catch((error: unknown) =>
        logger.warn('usage rollup failed; the next run retries', {
          reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown',
        }),
      );
    }, options.intervalMs);
    timer.unref();
  }

  return {
    run,
    async stop() {
      if (timer) clearInterval(timer);
      await run().catch((error: unknown) =>
        logger.warn('last usage rollup failed; another replica or the next start copies it', {
          reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown',
        }),
      );
    },
  };
}
