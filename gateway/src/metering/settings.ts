/** Metering's settings (config.ts reads them from the environment); no imports, so config.ts stays a leaf. */

export interface MeteringSettings {
  /** `USAGE_METERING` (`on`/`off`): off counts nothing and checks no quota (reports show what was rolled up). */
  readonly enabled: boolean;
  /** `USAGE_ROLLUP_INTERVAL_MS`: how often each replica copies the counters to MongoDB; 0: only when it stops. */
  readonly rollupIntervalMs: number;
  /** `QUOTA_FAIL_MODE`: what the quota does when Redis does not answer (pipeline/quota.ts). */
  readonly quotaFailMode: 'open' | 'closed';
  /**
   * `USAGE_FLUSH_MS`: how long counted requests wait in the replica to be sent to Redis together (meter.ts); 0 sends
   * each as it ends. Optional so settings built in code get DEFAULT_USAGE_FLUSH_MS.
   */
  readonly flushMs?: number;
}

/** A tenth of a second: one script per tenant × credential a tenth of a second, however busy it is. */
export const DEFAULT_USAGE_FLUSH_MS = 100;

export const DEFAULT_METERING: MeteringSettings = {
  enabled: true,
  rollupIntervalMs: 60_000,
  quotaFailMode: 'open',
  flushMs: DEFAULT_USAGE_FLUSH_MS,
};
