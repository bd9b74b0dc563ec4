/**
 * Usage metering on the hot path: once per request, at its end, one Lua script in Redis adds the request to its
 * tenant × credential × hour hash (operations, cost points, response bytes, the refusal's code), notes the
 * credential in the hour's index, and — while the month counter is trusted — adds the cost points to the tenant's
 * month counter the quota reads (pipeline/quota.ts). One command, one round trip, one cluster slot (`{tenant}`);
 * every key it touches expires.
 *
 * Fail mode: counting never holds a response back and never fails one. The script is sent after the response went
 * out; if Redis does not answer (down, or slower than the client's command timeout) the request is not counted,
 * `lost()` grows (the metric `tollgate_usage_records_lost_total`) and the gateway keeps serving. The quota's own
 * fail mode is `QUOTA_FAIL_MODE` (pipeline/quota.ts).
 */
import type { Logger } from '../../../common/logger';
import type { RedisClient } from '../redis/connect';
import { hourOf, monthOf, nextMonthStart } from './buckets';
import { hourIndexKey, hourKey, monthBaseKey, monthKey } from './keys';

/** Hour hashes live this long: the rollup (rollup.ts) has this long to copy them to MongoDB. */
export const HOUR_KEY_TTL_SECONDS = 72 * 3_600;
/** Month counters live until the next month has started plus this. */
const MONTH_KEY_GRACE_SECONDS = 86_400;
const HOUR_TTL = String(HOUR_KEY_TTL_SECONDS);
/** A refusal code as the gateway writes them; anything else is counted as OTHER. */
const REFUSAL_CODE = /^[A-Z][A-Z0-9_]{0,39}$/;

/**
 * KEYS: hour hash, hour index, month counter, month base flag.
 * ARGV: credential, cost points, response bytes, hour TTL (s), month expiry (unix s), refusal code or ''.
 */
const RECORD_LUA = `
redis.call('HINCRBY', KEYS[1], 'o', 1)
local cost = tonumber(ARGV[2])
if cost > 0 then redis.call('HINCRBY', KEYS[1], 'c', cost) end
local bytes = tonumber(ARGV[3])
if bytes > 0 then redis.call('HINCRBY', KEYS[1], 'b', bytes) end
if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[1], 'r:' .. ARGV[6], 1) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if cost > 0 and redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('INCRBY', KEYS[3], cost)
  redis.call('EXPIREAT', KEYS[3], ARGV[5])
end
return 1
`;

/**
 * KEYS: month counter, month base flag. ARGV: the month's total so far, expiry (unix s).
 * Sets the counter only if no replica did already (the flag), and answers the counter either way.
 */
const REBUILD_LUA = `
if redis.call('SET', KEYS[2], '1', 'NX') then
  redis.call('EXPIREAT', KEYS[2], ARGV[2])
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('EXPIREAT', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1]) or '0'
`;

const RECORD = 'tollgateUsageRecord';
const REBUILD = 'tollgateUsageRebuild';

type MeterRedis = RedisClient & {
  [RECORD](...args: string[]): Promise<number>;
  [REBUILD](...args: string[]): Promise<string>;
};

/** One request as metering counts it. */
export interface UsageSample {
  readonly tenantId: string;
  /** `jwt`, or the API key's id (keys.ts, `isCredentialLabel`). */
  readonly credential: string;
  /** What the request was charged: `extensions.cost.actualQueryCost`, 0 when it had none. */
  readonly costPoints: number;
  readonly responseBytes: number;
  /** The refusal's code when the request was refused (HTTP status ≥ 400). */
  readonly refusalCode?: string;
}

export interface MeterOptions {
  /** A client with a short command timeout and no offline queue (budget/redis.ts, `createBudgetRedis`). */
  readonly redis: RedisClient;
  readonly logger: Logger;
  /** `usageKeyPrefix(<control-plane database>)` (keys.ts). */
  readonly keyPrefix: string;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface Meter {
  /** Counts a request; never throws and never waits. */
  record(sample: UsageSample): void;
  /** Like `record`, resolving once Redis answered (false: not counted). For tests and the CLI's scripted runs. */
  recordNow(sample: UsageSample): Promise<boolean>;
  /**
   * The tenant's month counter, or undefined when it is not trusted (never built this month, or lost with Redis):
   * then the caller rebuilds it from the month's usage (`rebuildMonth`). Rejects when Redis does not answer.
   */
  monthUsed(tenantId: string, month: string): Promise<number | undefined>;
  /** Sets the month counter to `total` unless another replica did first; answers the counter. */
  rebuildMonth(tenantId: string, month: string, total: number): Promise<number>;
  /** Requests not counted because Redis did not answer, since start. */
  lost(): number;
  readonly keyPrefix: string;
}

export function createMeter(options: MeterOptions): Meter {
  const { redis, logger } = options;
  const prefix = options.keyPrefix;
  const now = options.now ?? Date.now;
  if (!(RECORD in redis)) redis.defineCommand(RECORD, { numberOfKeys: 4, lua: RECORD_LUA });
  if (!(REBUILD in redis)) redis.defineCommand(REBUILD, { numberOfKeys: 2, lua: REBUILD_LUA });
  const client = redis as MeterRedis;
  let lost = 0;
  let lastWarning = -Infinity;

  const monthExpiry = (at: number) => String(Math.floor(nextMonthStart(at) / 1000) + MONTH_KEY_GRACE_SECONDS);
  // The hour's names, worked out once per hour rather than per request.
  let bucket = { start: -1, hour: '', month: '', expiry: '' };
  const bucketOf = (at: number) => {
    const start = Math.floor(at / 3_600_000) * 3_600_000;
    if (start !== bucket.start) bucket = { start, hour: hourOf(at), month: monthOf(at), expiry: monthExpiry(at) };
    return bucket;
  };

  const send = (sample: UsageSample): Promise<number> => {
    const { hour, month, expiry } = bucketOf(now());
    const code =
      sample.refusalCode === undefined ? '' : REFUSAL_CODE.test(sample.refusalCode) ? sample.refusalCode : 'OTHER';
    return client[RECORD](
      hourKey(prefix, sample.tenantId, hour, sample.credential),
      hourIndexKey(prefix, sample.tenantId, hour),
      monthKey(prefix, sample.tenantId, month),
      monthBaseKey(prefix, sample.tenantId, month),
      sample.credential,
      String(Math.max(0, Math.round(sample.costPoints))),
      String(Math.max(0, Math.round(sample.responseBytes))),
      HOUR_TTL,
      expiry,
      code,
    );
  };

  const loss = (error: unknown) => {
    lost += 1;
    // One warning a minute at most: an outage must not turn every request into a log line.
    const t = now();
    if (t - lastWarning >= 60_000) {
      lastWarning = t;
      logger.warn('usage not counted: Redis unavailable', {
        lostSoFar: lost,
        reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown',
      });
    }
  };

  return {
    keyPrefix: prefix,
    record(sample) {
      try {
        send(sample).catch(loss);
      } catch (error) {
        loss(error);
      }
    },
    async recordNow(sample) {
      try {
        await send(sample);
        return true;
      } catch (error) {
        loss(error);
        return false;
      }
    },
    async monthUsed(tenantId, month) {
      const [used, base] = await redis.mget(monthKey(prefix, tenantId, month), monthBaseKey(prefix, tenantId, month));
      if (base === null) return undefined;
      return used === null ? 0 : Number(used);
    },
    async rebuildMonth(tenantId, month, total) {
      const at = now();
      const answer = await client[REBUILD](
        monthKey(prefix, tenantId, month),
        monthBaseKey(prefix, tenantId, month),
        String(Math.max(0, Math.round(total))),
        monthExpiry(at),
      );
      return Number(answer);
    },
    lost: () => lost,
  };
}
