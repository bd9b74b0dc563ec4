/**
 * A tenant's usage in a month, as reports show it: MongoDB's rollups merged with what Redis still counts (the hours
 * the rollup may not have copied yet), hour by hour (report.ts, `mergeCounts`). Also the month's total the quota
 * rebuilds its counter from (pipeline/quota.ts). Redis unreachable: the rollups alone, which lag by at most the
 * rollup interval.
 */
import type { Logger } from '../../../common/logger';
import type { RedisClient } from '../redis/connect';
import { recentHours } from './buckets';
import { readLiveHours } from './live';
import { HOUR_KEY_TTL_SECONDS } from './meter';
import { createMonthSummary, mergeCounts, type HourUsage, type UsageReport } from './report';
import type { UsageStore } from './store';

export interface UsageReaderOptions {
  readonly redis: RedisClient;
  readonly keyPrefix: string;
  readonly store: UsageStore;
  /** The tenant's plan's monthly quota, if any. */
  readonly quotaOf: (tenantId: string) => Promise<number | undefined>;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface UsageReader {
  monthUsage(tenantId: string, month: string, byCredential: boolean): Promise<UsageReport>;
}

/** Every hour Redis may still hold. */
const LIVE_HOURS = HOUR_KEY_TTL_SECONDS / 3_600;

export function createUsageReader(options: UsageReaderOptions): UsageReader {
  const { redis, keyPrefix, store, logger } = options;
  const now = options.now ?? Date.now;
  return {
    async monthUsage(tenantId, month, byCredential) {
      const monthDigits = month.replace('-', '');
      const hours = recentHours(now(), LIVE_HOURS).filter((h) => h.startsWith(monthDigits));
      const live = new Map<string, HourUsage>();
      try {
        for (const hour of await readLiveHours(redis, keyPrefix, tenantId, hours))
          live.set(`${hour.hour}:${hour.credential}`, hour);
      } catch (error) {
        logger.warn('usage report without the live counters: Redis unavailable', {
          tenant: tenantId,
          reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown',
        });
      }
      const quota = await options.quotaOf(tenantId);
      const summary = createMonthSummary({ month, byCredential, ...(quota === undefined ? {} : { quota }) });
      for await (const rolled of store.monthHours(tenantId, month)) {
        const key = `${rolled.hour}:${rolled.credential}`;
        const counted = live.get(key);
        if (counted) {
          live.delete(key);
          summary.add({ hour: rolled.hour, credential: rolled.credential, ...mergeCounts(rolled, counted) });
        } else summary.add(rolled);
      }
      for (const hour of live.values()) summary.add(hour);
      return summary.report();
    },
  };
}
