/**
 * Budgets in Redis: one Lua script does a whole bucket step (read, refill, take, write, expire) atomically in one
 * round trip, so replicas sharing a budget can never both spend the same points.
 *
 * Time comes from Redis (`TIME` inside the script), not from the gateway: every replica then agrees on how much a
 * bucket has refilled, whatever their clocks say. Redis 7 replicates a script's effects rather than the script, so
 * reading the clock in a script that writes is allowed. Should Redis's clock step back (a failover to a replica
 * whose clock lags), elapsed time counts as zero rather than negative.
 */
import { createRedisClient, type RedisClient } from '../redis/connect';
import type { BudgetPolicy, BucketStep } from './bucket';

/**
 * KEYS[1] the bucket; ARGV capacity, restore rate (points/s), amount (negative gives back), conditional ('1'/'0'),
 * pending (settlements of earlier operations on this bucket riding along: applied unconditionally before the
 * amount, whether or not the amount then is; '0' for none).
 * Returns {applied 1/0, available as a string} — Lua numbers would be truncated to integers in the reply.
 * Mirrors `applyStep` in bucket.ts step for step (refill, pending, amount); keep the two in sync. The bucket is written
 * when anything was applied — the pending part lands even when the amount is refused. A bucket that is full again is
 * deleted; otherwise it expires when it would be.
 */
const BUCKET_STEP_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local conditional = ARGV[4] == '1'
local pending = tonumber(ARGV[5]) or 0
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local stored = redis.call('HMGET', KEYS[1], 'a', 't')
local available = capacity
if stored[1] and stored[2] then
  local elapsed = math.max(0, now - tonumber(stored[2]))
  available = math.min(capacity, tonumber(stored[1]) + elapsed * rate)
end
if pending ~= 0 then
  available = math.max(-capacity, math.min(capacity, available - pending))
end
local applied = 1
if conditional and amount > available then
  applied = 0
else
  available = math.max(-capacity, math.min(capacity, available - amount))
end
if applied == 1 or pending ~= 0 then
  if available >= capacity then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'a', string.format('%.17g', available), 't', string.format('%.17g', now))
    redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - available) / rate * 1000) + 1000)
  end
end
return {applied, string.format('%.17g', available)}
`;

const COMMAND = 'tollgateBudgetStep';

type BudgetRedis = RedisClient & {
  [COMMAND](
    key: string,
    capacity: string,
    rate: string,
    amount: string,
    conditional: string,
    pending: string,
  ): Promise<[number, string]>;
};

/**
 * A client for budgets. ioredis's defaults turn "Redis is down" into "the gateway hangs" (offline queue, 20 retries,
 * no timeout) and replay unanswered commands after a reconnect: here a command fails at once when disconnected and
 * after 100 ms when Redis does not answer, is never replayed, and the client reconnects forever with a bounded
 * backoff so the budget comes back by itself. Errors are reported through
 * the budget (`createBudget` listens for them); the caller owns the client and quits it.
 */
export function createBudgetRedis(url: string, options: { commandTimeoutMs?: number } = {}): RedisClient {
  return createRedisClient(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeoutMs: options.commandTimeoutMs ?? 100,
    // A command that timed out was given up on (the budget decided without it); sent again after a reconnect, a
    // reservation would take points for an operation that was decided long ago.
    autoResendUnfulfilledCommands: false,
    connectTimeoutMs: 1_000,
    // 50 ms, 100 ms, … capped at 2 s; never null, which would stop reconnecting for good.
    retryStrategy: (times) => Math.min(times * 50, 2_000),
  });
}

/**
 * Registers the script on the client (once); ioredis then runs it by EVALSHA, falling back to EVAL once. `pending`
 * is applied unconditionally before `amount` (see the script).
 */
export function redisBucketStep(
  redis: RedisClient,
): (key: string, policy: BudgetPolicy, amount: number, conditional: boolean, pending?: number) => Promise<BucketStep> {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: BUCKET_STEP_LUA });
  const client = redis as BudgetRedis;
  return async (key, policy, amount, conditional, pending = 0) => {
    const [applied, available] = await client[COMMAND](
      key,
      String(policy.capacity),
      String(policy.restoreRate),
      String(amount),
      conditional ? '1' : '0',
      String(pending),
    );
    return { applied: applied === 1, available: Number(available) };
  };
}
