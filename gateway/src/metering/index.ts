/**
 * Usage metering and the monthly quota, assembled: the hot-path meter (meter.ts) fed once per /graphql request by
 * the request log (a `RequestObserver`, http/guards.ts), the quota stage (pipeline/quota.ts), the report reader
 * (reader.ts) behind the platform graph's `usage` field, and each replica's rollup to MongoDB (rollup.ts).
 *
 * What a request counts as: every /graphql request of an authenticated caller is one operation of its tenant ×
 * credential (`jwt`, or the API key's id — never a secret) × hour; it adds what it was charged
 * (`extensions.cost.actualQueryCost`), the bytes of its response body, and, when it was refused (HTTP status ≥ 400),
 * one refusal under the first error code it answered. Requests refused before authentication belong to no tenant
 * and are not counted.
 */
import type { Logger } from '../../../common/logger';
import type { RequestObserver } from '../http/guards';
import { createQuotaStage, type QuotaStage } from '../pipeline/quota';
import type { RedisClient } from '../redis/connect';
import type { TenantDirectory } from '../tenants/directory';
import { createMeter, type Meter } from './meter';
import { createUsageReader, type UsageReader } from './reader';
import { createUsageRollup, type UsageRollup } from './rollup';
import type { UsageStore } from './store';
import { JWT_CREDENTIAL, usageKeyPrefix } from './keys';
import { DEFAULT_USAGE_FLUSH_MS, type MeteringSettings } from './settings';

export { DEFAULT_METERING, type MeteringSettings } from './settings';

export interface MeteringOptions {
  readonly settings: MeteringSettings;
  /** A short-timeout client without an offline queue: the budget's (budget/redis.ts). */
  readonly redis: RedisClient;
  readonly store: UsageStore;
  readonly tenantIds: () => Promise<string[]>;
  readonly directory: Pick<TenantDirectory, 'tenantFor'>;
  readonly logger: Logger;
  /** The control plane's database: part of every Redis key (keys.ts, `usageKeyPrefix`). */
  readonly controlDbName: string;
}

export interface Metering {
  readonly meter: Meter;
  readonly reader: UsageReader;
  /** Feeds the meter from the request log; absent when metering is off. */
  readonly observer?: RequestObserver;
  /** The quota stage; absent when metering is off. */
  readonly quotaStage?: QuotaStage;
  readonly rollup: UsageRollup;
  /** What was lost to Redis being unavailable, for the metrics. */
  stats(): { readonly recordsLost: number; readonly quotaChecksSkipped: number };
  /** Sends what this replica counted and has not sent yet, then runs the rollup: it copies those counts too. */
  rollupNow(): Promise<void>;
  /** Sends what was counted, then stops the rollup after a last run. */
  close(): Promise<void>;
}

export function createMetering(options: MeteringOptions): Metering {
  const { settings, redis, store, logger } = options;
  const meter = createMeter({
    redis,
    logger,
    keyPrefix: usageKeyPrefix(options.controlDbName),
    flushMs: settings.flushMs ?? DEFAULT_USAGE_FLUSH_MS,
  });
  const storedUsage = createUsageReader({
    redis,
    keyPrefix: meter.keyPrefix,
    store,
    logger,
    quotaOf: async (tenantId) => (await options.directory.tenantFor(tenantId)).plan.limits.monthlyCostQuota,
  });
  // A report this replica answers includes what it counted and has not sent yet (meter.ts): the caller's own last
  // requests are in it. (The quota reads the counter through `monthUsed` and `rebuildMonth`, which add what is unsent.)
  const reader: UsageReader = {
    async monthUsage(tenantId, month, byCredential) {
      await meter.flush();
      return storedUsage.monthUsage(tenantId, month, byCredential);
    },
  };
  const rollup = createUsageRollup({
    redis,
    keyPrefix: meter.keyPrefix,
    store,
    tenantIds: options.tenantIds,
    logger,
    intervalMs: settings.enabled ? settings.rollupIntervalMs : 0,
  });
  const rollupNow = async () => {
    await meter.flush();
    await rollup.run();
  };
  if (!settings.enabled) {
    return {
      meter,
      reader,
      rollup,
      rollupNow,
      stats: () => ({ recordsLost: 0, quotaChecksSkipped: 0 }),
      close: () => rollup.stop(),
    };
  }

  const observer: RequestObserver = {
    requestStarted() {},
    requestEnded(request, _method, path, status) {
      const { caller } = request;
      if (path !== '/graphql' || !caller) return;
      const credential = caller.credential === 'apiKey' ? caller.apiKeyId : JWT_CREDENTIAL;
      if (!credential) return;
      const { log } = request;
      meter.record({
        tenantId: caller.tenantId,
        credential,
        costPoints: log.actualCost ?? 0,
        responseBytes: log.responseBytes ?? 0,
        ...(status >= 400 ? { refusalCode: log.errorCodes[0] ?? `HTTP_${status}` } : {}),
      });
    },
  };
  const quotaStage = createQuotaStage({
    meter,
    monthTotal: async (tenantId, month) => (await storedUsage.monthUsage(tenantId, month, false)).costPoints,
    failMode: settings.quotaFailMode,
    logger: logger.child({ component: 'quota' }),
  });
  return {
    meter,
    reader,
    rollup,
    observer,
    quotaStage,
    stats: () => ({ recordsLost: meter.lost(), quotaChecksSkipped: quotaStage.skipped() }),
    rollupNow,
    // What was counted goes to Redis before the rollup's last run copies it to MongoDB.
    close: async () => {
      await meter.flush();
      await rollup.stop();
    },
  };
}
