/**
 * Usage metering on the hot path. A request, at its end, is added to what this replica has counted and not sent yet
 * for its tenant × credential × hour (operations, cost points, response bytes, refusals by code) — in memory, no
 * I/O. Every `flushMs` (`USAGE_FLUSH_MS`) what was counted is sent: per tenant × credential × hour, one Lua script in
 * Redis adds it to the hour's hash, notes the credential in the hour's index, and — while the month counter is
 * trusted — adds the cost points to the tenant's month counter the quota reads (pipeline/quota.ts). One command, one
 * cluster slot (`{tenant}`), however many requests it carries; every key it touches expires. `flushMs` 0 sends one
 * script per request, as soon as it ended.
 *
 * The quota stays exact on each replica: `monthUsed` adds what this replica counted and has not sent yet, read at
 * the moment its `MGET` is sent; what was sent before is already in Redis by the time the `MGET` is answered (the
 * same connection, and the same `{tenant}` slot, so Redis runs them in order). Another replica's operations are seen
 * once it has sent them: within `flushMs` plus a round trip.
 *
 * Fail mode: counting never holds a response back and never fails one. If Redis does not answer a script (down, or
 * slower than the client's command timeout) the requests it carried are not counted, `lost()` grows by as many (the
 * metric `tollgate_usage_records_lost_total`) and the gateway keeps serving; so do requests still unsent when a
 * replica dies (at most `flushMs` of them: a replica that stops sends them first, `flush`). The quota's own fail mode
 * is `QUOTA_FAIL_MODE` (pipeline/quota.ts).
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
/** Tenant × credential × hour entries held unsent at most: one more sends them all at once. */
const MAX_PENDING = 1_000;

/**
 * KEYS: hour hash, hour index, month counter, month base flag.
 * ARGV: credential, operations, cost points, response bytes, hour TTL (s), month expiry (unix s), then refusal code
 * and count pairs.
 */
const RECORD_LUA = `
redis.call('HINCRBY', KEYS[1], 'o', tonumber(ARGV[2]))
local cost = tonumber(ARGV[3])
if cost > 0 then redis.call('HINCRBY', KEYS[1], 'c', cost) end
local bytes = tonumber(ARGV[4])
if bytes > 0 then redis.call('HINCRBY', KEYS[1], 'b', bytes) end
for i = 7, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], 'r:' .. ARGV[i], tonumber(ARGV[i + 1])) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
if cost > 0 and redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('INCRBY', KEYS[3], cost)
  redis.call('EXPIREAT', KEYS[3], ARGV[6])
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

// Named anew with its arguments: during a rolling deploy each version's replicas run their own script.
const RECORD = 'tollgateUsageRecordMany';
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
  /** `USAGE_FLUSH_MS`: how long counted requests wait to be sent together (0: each is sent when it ends). */
  readonly flushMs: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface Meter {
  /** Counts a request; never throws and never waits. */
  record(sample: UsageSample): void;
  /** Like `record`, resolving once Redis answered (false: not counted). For tests and the CLI's scripted runs. */
  recordNow(sample: UsageSample): Promise<boolean>;
  /** Sends what was counted and not sent yet; resolves once Redis answered (or did not: `lost`). Never rejects. */
  flush(): Promise<void>;
  /**
   * The tenant's month counter with what this replica counted and has not sent yet, or undefined when the counter is
   * not trusted (never built this month, or lost with Redis): then the caller rebuilds it from the month's usage
   * (`rebuildMonth`). Rejects when Redis does not answer.
   */
  monthUsed(tenantId: string, month: string): Promise<number | undefined>;
  /**
   * Sets the month counter to `total` unless another replica did first; answers the counter with what this replica
   * counted and has not sent yet, as `monthUsed` does.
   */
  rebuildMonth(tenantId: string, month: string, total: number): Promise<number>;
  /** Requests not counted because Redis did not answer, since start. */
  lost(): number;
  readonly keyPrefix: string;
}

/** What one tenant × credential × hour counted and has not sent yet. */
interface Count {
  readonly tenantId: string;
  readonly credential: string;
  readonly hour: string;
  readonly month: string;
  /** The month counter's expiry (unix seconds). */
  readonly expiry: string;
  operations: number;
  costPoints: number;
  responseBytes: number;
  /** Refusals by code (as Redis names them: OTHER for a code that is not the gateway's). */
  refusals: Map<string, number> | undefined;
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

  let pending = new Map<string, Count>();
  /** Cost points counted and not sent yet, by tenant and month: what `monthUsed` adds to the counter. */
  let unsentCost = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  const countOf = (sample: UsageSample, at: number): Count => {
    const { hour, month, expiry } = bucketOf(at);
    return {
      tenantId: sample.tenantId,
      credential: sample.credential,
      hour,
      month,
      expiry,
      operations: 0,
      costPoints: 0,
      responseBytes: 0,
      refusals: undefined,
    };
  };

  /** Adds the request to `count`; answers the cost points it added. */
  const accumulate = (count: Count, sample: UsageSample): number => {
    const cost = Math.max(0, Math.round(sample.costPoints));
    count.operations += 1;
    count.costPoints += cost;
    count.responseBytes += Math.max(0, Math.round(sample.responseBytes));
    if (sample.refusalCode !== undefined) {
      const code = REFUSAL_CODE.test(sample.refusalCode) ? sample.refusalCode : 'OTHER';
      count.refusals ??= new Map();
      count.refusals.set(code, (count.refusals.get(code) ?? 0) + 1);
    }
    return cost;
  };

  /** Adds the request to what is pending for its tenant × credential × hour. */
  const add = (sample: UsageSample): void => {
    const at = now();
    const key = `${sample.tenantId}\n${sample.credential}\n${bucketOf(at).hour}`;
    let count = pending.get(key);
    if (!count) {
      count = countOf(sample, at);
      pending.set(key, count);
    }
    const cost = accumulate(count, sample);
    if (cost > 0) {
      const monthOfTenant = `${sample.tenantId}\n${count.month}`;
      unsentCost.set(monthOfTenant, (unsentCost.get(monthOfTenant) ?? 0) + cost);
    }
  };

  const send = (count: Count): Promise<number> => {
    const args = [
      hourKey(prefix, count.tenantId, count.hour, count.credential),
      hourIndexKey(prefix, count.tenantId, count.hour),
      monthKey(prefix, count.tenantId, count.month),
      monthBaseKey(prefix, count.tenantId, count.month),
      count.credential,
      String(count.operations),
      String(count.costPoints),
      String(count.responseBytes),
      HOUR_TTL,
      count.expiry,
    ];
    for (const [code, n] of count.refusals ?? []) args.push(code, String(n));
    return client[RECORD](...args);
  };

  const loss = (error: unknown, requests: number) => {
    lost += requests;
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

  /** Sends every count taken so far (each its own script; ioredis writes them back to back). */
  const flush = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return;
    const counts = [...pending.values()];
    pending = new Map();
    unsentCost = new Map();
    await Promise.all(
      counts.map(async (count) => {
        try {
          await send(count);
        } catch (error) {
          loss(error, count.operations);
        }
      }),
    );
  };

  return {
    keyPrefix: prefix,
    record(sample) {
      if (options.flushMs === 0) {
        add(sample);
        void flush();
        return;
      }
      if (pending.size >= MAX_PENDING) void flush();
      add(sample);
      if (!timer) {
        timer = setTimeout(() => void flush(), options.flushMs);
        timer.unref();
      }
    },
    async recordNow(sample) {
      // A script of its own, apart from what is pending: its answer is this request's alone.
      const count = countOf(sample, now());
      accumulate(count, sample);
      try {
        await send(count);
        return true;
      } catch (error) {
        loss(error, 1);
        return false;
      }
    },
    flush,
    async monthUsed(tenantId, month) {
      // Read as the MGET goes out: what is sent after it is not in its answer, and is counted here instead.
      const unsent = unsentCost.get(`${tenantId}\n${month}`) ?? 0;
      const [used, base] = await redis.mget(monthKey(prefix, tenantId, month), monthBaseKey(prefix, tenantId, month));
      if (base === null) return undefined;
      return (used === null ? 0 : Number(used)) + unsent;
    },
    async rebuildMonth(tenantId, month, total) {
      const at = now();
      // As in monthUsed: what this replica has not sent is in neither `total` (read from the stored usage) nor the
      // counter, and is added to it once sent (the flag is set by then). Counts another replica sent between its
      // reading `total` and this script are in neither for the month: the window of one rebuild.
      const unsent = unsentCost.get(`${tenantId}\n${month}`) ?? 0;
      const answer = await client[REBUILD](
        monthKey(prefix, tenantId, month),
        monthBaseKey(prefix, tenantId, month),
        String(Math.max(0, Math.round(total))),
        monthExpiry(at),
      );
      return Number(answer) + unsent;
    },
    lost: () => lost,
  };
}
