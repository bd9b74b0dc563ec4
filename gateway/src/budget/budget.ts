/**
 * Cost budgets shared by every gateway replica: a reservation takes an operation's estimated cost out of the
 * caller's bucket before execution, and `settle` gives back (or charges) the difference once the actual cost is
 * known.
 *
 * Redis is the source of truth. When it fails (an error, or no answer within the client's 100 ms command timeout),
 * the budget stops asking it: with `failMode: 'open'` it decides from per-process buckets, with `'closed'` it
 * refuses (`BudgetUnavailableError`, which the cost stage answers with SERVICE_UNAVAILABLE). Either way the next
 * requests do not wait on Redis at all, and a probe pings Redis in the background until it answers, then switches
 * back. Each switch is logged once and counted.
 *
 * One round trip per operation: settling a Redis reservation does not wait for Redis. `settle` adds the difference
 * to a per-bucket pending delta kept in this process and answers at once with the bucket as the operation left it
 * (the level the reservation reported, refilled since, minus the difference — had nobody else spent). The pending
 * delta rides with the next reservation of that bucket (the script applies it unconditionally before the
 * reservation's own check, and writes it even when the reservation is refused); what no reservation picked up within
 * `settleFlushMs` (250 ms) is flushed by a timer, one call per bucket, and by `flush()`/`close()`. The trade-off: a
 * settlement is in this process only, for up to that delay. When the process dies, or the call carrying it fails,
 * or Redis is unavailable when the flush runs, it is lost and counted (`lostSettlements`): a lost refund only
 * over-charges the tenant (the estimate stays charged — fails closed); a lost excess charge under-charges by at most
 * that one operation's excess. Reservations decided from per-process buckets settle there, immediately.
 */
import type { RedisClient } from '../redis/connect';
import type { Logger } from '../../../common/logger';
import {
  applyStep,
  MemoryBuckets,
  policyProblems,
  secondsUntilAvailable,
  throttleStatus,
  type BudgetPolicy,
  type ThrottleStatus,
} from './bucket';
import { assertKeyPrefix, budgetKey, DEFAULT_KEY_PREFIX, type BudgetSubject } from './keys';
import { redisBucketStep } from './redis';

export type BudgetBackend = 'redis' | 'memory';
export type BudgetFailMode = 'open' | 'closed';

/** Points taken from a bucket, to be settled once the operation is done. */
export interface Reservation {
  readonly key: string;
  readonly policy: BudgetPolicy;
  readonly amount: number;
  readonly backend: BudgetBackend;
  /** The bucket's level right after the reservation, as its store reported it. */
  readonly availableAfter: number;
  /** When that was, on this process's clock (`BudgetOptions.now`), in milliseconds. */
  readonly reservedAt: number;
}

export type ReserveResult =
  | { readonly granted: true; readonly reservation: Reservation; readonly status: ThrottleStatus }
  | {
      readonly granted: false;
      readonly status: ThrottleStatus;
      /** Undefined when the amount exceeds the capacity: waiting would not help. */
      readonly retryAfterSeconds: number | undefined;
      readonly backend: BudgetBackend;
    };

export interface ReserveOptions {
  /** Take the points even when that overdraws the bucket (measure mode: record, never refuse). */
  readonly force?: boolean;
}

export class BudgetUnavailableError extends Error {
  constructor() {
    super('the budget store is unavailable');
    this.name = 'BudgetUnavailableError';
  }
}

export interface BudgetStats {
  readonly backend: BudgetBackend;
  /** Switches from Redis to the fallback, and back. */
  readonly outages: number;
  readonly recoveries: number;
  /** Redis calls that failed (errors and timeouts). */
  readonly redisFailures: number;
  /** Decisions taken without Redis: per-process buckets when open, refusals when closed. */
  readonly fallbackDecisions: number;
  /** Settlements of Redis reservations that could not be applied; their estimate stays charged. */
  readonly lostSettlements: number;
}

export interface Budget {
  /** Throws `BudgetUnavailableError` when Redis is unavailable and the fail mode is closed. */
  reserve(
    subject: BudgetSubject,
    policy: BudgetPolicy,
    amount: number,
    options?: ReserveOptions,
  ): Promise<ReserveResult>;
  /**
   * Charges `actual` for a reservation: gives back what was reserved beyond it, or takes the excess. Never throws
   * and never waits for Redis: the difference for a Redis reservation is applied with the bucket's next reservation
   * or flush (see the module comment). Returns the bucket as this operation left it, or undefined when the
   * settlement is lost already (Redis unavailable, or the budget closed).
   */
  settle(reservation: Reservation, actual: number): Promise<ThrottleStatus | undefined>;
  /** Applies every pending settlement to Redis now (one call per bucket). Never throws. */
  flush(): Promise<void>;
  stats(): BudgetStats;
  /** Flushes pending settlements, then stops the background probe. The Redis client belongs to the caller. */
  close(): Promise<void>;
}

export interface BudgetOptions {
  readonly redis: RedisClient;
  readonly failMode: BudgetFailMode;
  readonly logger: Logger;
  readonly keyPrefix?: string;
  /** How often a degraded budget pings Redis to find out whether it is back. */
  readonly probeIntervalMs?: number;
  /** Per-process buckets kept while Redis is unavailable. */
  readonly memoryMaxEntries?: number;
  /** The per-process buckets' clock, in milliseconds; for tests. */
  readonly now?: () => number;
  /**
   * How long a pending settlement waits for a reservation of its bucket to carry it before a timer flushes it on its
   * own, in milliseconds.
   */
  readonly settleFlushMs?: number;
}

/** Settlements of one bucket waiting to ride with its next reservation, or the flush. */
interface PendingSettlement {
  policy: BudgetPolicy;
  /** Summed differences (actual − reserved): positive charges, negative gives back. */
  delta: number;
  /** How many settlements it carries (what `lostSettlements` counts when it is lost). */
  count: number;
  /** When the first of them was added (performance.now()). */
  since: number;
}

export function createBudget(options: BudgetOptions): Budget {
  const { redis, failMode, logger } = options;
  const prefix = assertKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const probeIntervalMs = options.probeIntervalMs ?? 500;
  const now = options.now ?? Date.now;
  const memory = new MemoryBuckets(options.memoryMaxEntries ?? 100_000, now);
  // Long enough for a bucket in steady use (a few requests a second) to carry its settlements with its reservations;
  // short enough that a refund is in Redis before a person notices.
  const settleFlushMs = options.settleFlushMs ?? 250;
  const redisStep = redisBucketStep(redis);
  const pending = new Map<string, PendingSettlement>();
  let flushTimer: NodeJS.Timeout | undefined;

  let backend: BudgetBackend = 'redis';
  let probe: NodeJS.Timeout | undefined;
  let probing = false;
  let closed = false;
  const counters = { outages: 0, recoveries: 0, redisFailures: 0, fallbackDecisions: 0, lostSettlements: 0 };

  const recover = () => {
    if (backend === 'redis') return;
    backend = 'redis';
    clearInterval(probe);
    probe = undefined;
    // A later outage starts from full buckets rather than from whatever this one left behind.
    memory.clear();
    counters.recoveries += 1;
    logger.info('budget store reachable again; budgets are shared through Redis', { recoveries: counters.recoveries });
  };

  const degrade = (error: unknown) => {
    counters.redisFailures += 1;
    if (backend === 'memory' || closed) return;
    backend = 'memory';
    counters.outages += 1;
    // Fail open keeps serving (an anomaly to look at); fail closed refuses every operation (a fault).
    const fields = { error, outages: counters.outages };
    if (failMode === 'open')
      logger.warn('budget store unavailable; deciding from per-process budgets until it is back', fields);
    else logger.error('budget store unavailable; refusing operations until it is back', fields);
    probe = setInterval(() => {
      if (probing) return;
      probing = true;
      redis
        .ping()
        .then(recover, () => undefined)
        .finally(() => {
          probing = false;
        });
    }, probeIntervalMs);
    probe.unref();
  };

  // ioredis emits connection errors as events; without a listener it prints them. They are failures like any other.
  redis.on('error', degrade);

  const takePending = (key: string): PendingSettlement | undefined => {
    const entry = pending.get(key);
    if (entry) pending.delete(key);
    return entry;
  };

  const lose = (entries: Iterable<PendingSettlement>) => {
    for (const entry of entries) counters.lostSettlements += entry.count;
  };

  /** Flushes under way (the timer's included), so that `flush()` returns only once they have landed too. */
  const flushing = new Set<Promise<void>>();

  /** One call per pending bucket: amount 0, the pending delta unconditionally. */
  const flushEntries = (entries: [string, PendingSettlement][]): Promise<void> => {
    if (entries.length === 0) return Promise.resolve();
    if (backend !== 'redis') {
      lose(entries.map(([, entry]) => entry));
      return Promise.resolve();
    }
    const done: Promise<void> = Promise.all(
      entries.map(async ([key, entry]) => {
        try {
          await redisStep(key, entry.policy, 0, false, entry.delta);
        } catch (error) {
          degrade(error);
          counters.lostSettlements += entry.count;
        }
      }),
    ).then(() => {
      flushing.delete(done);
    });
    flushing.add(done);
    return done;
  };

  const flushAll = async () => {
    const entries = [...pending];
    pending.clear();
    await Promise.all([flushEntries(entries), ...flushing]);
  };

  /** Flushes what waited `settleFlushMs` without a reservation picking it up; comes back for the rest. */
  const onFlushTimer = () => {
    flushTimer = undefined;
    const due = performance.now() - settleFlushMs + 1;
    const entries: [string, PendingSettlement][] = [];
    let next: number | undefined;
    for (const [key, entry] of pending) {
      if (entry.since <= due) entries.push([key, entry]);
      else next = Math.min(next ?? entry.since, entry.since);
    }
    for (const [key] of entries) pending.delete(key);
    if (next !== undefined) scheduleFlush(Math.max(1, next + settleFlushMs - performance.now()));
    void flushEntries(entries);
  };

  const scheduleFlush = (delay: number) => {
    if (flushTimer || closed) return;
    flushTimer = setTimeout(onFlushTimer, delay);
    flushTimer.unref();
  };

  const step = async (key: string, policy: BudgetPolicy, amount: number, conditional: boolean) => {
    if (backend === 'redis') {
      // Settlements waiting for this bucket ride along; if the call fails they are lost with it.
      const carried = takePending(key);
      try {
        return {
          step: await redisStep(key, policy, amount, conditional, carried?.delta ?? 0),
          backend: 'redis' as const,
        };
      } catch (error) {
        degrade(error);
        if (carried) lose([carried]);
      }
    }
    counters.fallbackDecisions += 1;
    if (failMode === 'closed') throw new BudgetUnavailableError();
    return { step: memory.step(key, policy, amount, conditional), backend: 'memory' as const };
  };

  return {
    async reserve(subject, policy, amount, reserveOptions = {}) {
      const problem = policyProblems(policy);
      if (problem) throw new RangeError(`invalid budget policy: ${problem}`);
      if (!Number.isFinite(amount) || amount < 0)
        throw new RangeError('a reservation must be a finite, non-negative amount');
      const key = budgetKey(subject, prefix);
      const result = await step(key, policy, amount, !reserveOptions.force);
      const status = throttleStatus(policy, result.step.available);
      if (result.step.applied) {
        const reservation = {
          key,
          policy,
          amount,
          backend: result.backend,
          availableAfter: result.step.available,
          reservedAt: now(),
        };
        return { granted: true, reservation, status };
      }
      return {
        granted: false,
        status,
        retryAfterSeconds: secondsUntilAvailable(policy, result.step.available, amount),
        backend: result.backend,
      };
    },

    async settle(reservation, actual) {
      const charge = Number.isFinite(actual) ? Math.max(0, actual) : reservation.amount;
      const delta = charge - reservation.amount;
      const { key, policy } = reservation;
      if (reservation.backend === 'memory') {
        return throttleStatus(policy, memory.step(key, policy, delta, false).available);
      }
      if (delta !== 0) {
        if (backend !== 'redis' || closed) {
          counters.lostSettlements += 1;
          return undefined;
        }
        const entry = pending.get(key);
        if (entry) {
          entry.policy = policy;
          entry.delta += delta;
          entry.count += 1;
        } else {
          pending.set(key, { policy, delta, count: 1, since: performance.now() });
          scheduleFlush(settleFlushMs);
        }
      }
      // The bucket as this operation left it: the level its reservation reported, refilled since, then the
      // difference — what the bucket holds had nobody else spent in between (the same arithmetic as the store's).
      const elapsedSeconds = (now() - reservation.reservedAt) / 1000;
      const local = applyStep({ available: reservation.availableAfter, elapsedSeconds }, policy, delta, false);
      return throttleStatus(policy, local.available);
    },

    flush() {
      return flushAll();
    },

    stats() {
      return { backend, ...counters };
    },

    async close() {
      // Settlements arriving from now on are lost (counted); what is pending now goes to Redis first.
      closed = true;
      clearTimeout(flushTimer);
      flushTimer = undefined;
      await flushAll();
      clearInterval(probe);
      probe = undefined;
      // The error listener stays (it does nothing once closed): the owner disconnects the client after this, and
      // an ioredis client without one reports a disconnect during its ready check as an unhandled error.
    },
  };
}
