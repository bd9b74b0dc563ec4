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
 */
import type Redis from 'ioredis';
import type { Logger } from '../../../common/logger';
import {
  MemoryBuckets,
  policyProblems,
  secondsUntilAvailable,
  throttleStatus,
  type BucketStep,
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
  reserve(subject: BudgetSubject, policy: BudgetPolicy, amount: number, options?: ReserveOptions): Promise<ReserveResult>;
  /**
   * Charges `actual` for a reservation: gives back what was reserved beyond it, or takes the excess. Never throws;
   * returns the bucket's state, or undefined when the store could not be reached.
   */
  settle(reservation: Reservation, actual: number): Promise<ThrottleStatus | undefined>;
  stats(): BudgetStats;
  /** Stops the background probe. The Redis client belongs to the caller. */
  close(): void;
}

export interface BudgetOptions {
  readonly redis: Redis;
  readonly failMode: BudgetFailMode;
  readonly logger: Logger;
  readonly keyPrefix?: string;
  /** How often a degraded budget pings Redis to find out whether it is back. */
  readonly probeIntervalMs?: number;
  /** Per-process buckets kept while Redis is unavailable. */
  readonly memoryMaxEntries?: number;
  /** The per-process buckets' clock, in milliseconds; for tests. */
  readonly now?: () => number;
}

export function createBudget(options: BudgetOptions): Budget {
  const { redis, failMode, logger } = options;
  const prefix = assertKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const probeIntervalMs = options.probeIntervalMs ?? 500;
  const memory = new MemoryBuckets(options.memoryMaxEntries ?? 100_000, options.now ?? Date.now);
  const redisStep = redisBucketStep(redis);

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
    logger.warn(
      failMode === 'open'
        ? 'budget store unavailable; deciding from per-process budgets until it is back'
        : 'budget store unavailable; refusing operations until it is back',
      { error: error instanceof Error ? error.message : String(error), outages: counters.outages },
    );
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

  const step = async (key: string, policy: BudgetPolicy, amount: number, conditional: boolean) => {
    if (backend === 'redis') {
      try {
        return { step: await redisStep(key, policy, amount, conditional), backend: 'redis' as const };
      } catch (error) {
        degrade(error);
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
      if (!Number.isFinite(amount) || amount < 0) throw new RangeError('a reservation must be a finite, non-negative amount');
      const key = budgetKey(subject, prefix);
      const result = await step(key, policy, amount, !reserveOptions.force);
      const status = throttleStatus(policy, result.step.available);
      if (result.step.applied) {
        return { granted: true, reservation: { key, policy, amount, backend: result.backend }, status };
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
      let settled: BucketStep;
      if (reservation.backend === 'memory') {
        settled = memory.step(reservation.key, reservation.policy, delta, false);
      } else if (backend !== 'redis') {
        counters.lostSettlements += 1;
        return undefined;
      } else {
        try {
          settled = await redisStep(reservation.key, reservation.policy, delta, false);
        } catch (error) {
          degrade(error);
          counters.lostSettlements += 1;
          return undefined;
        }
      }
      return throttleStatus(reservation.policy, settled.available);
    },

    stats() {
      return { backend, ...counters };
    },

    close() {
      closed = true;
      clearInterval(probe);
      probe = undefined;
      // The error listener stays (it does nothing once closed): the owner disconnects the client after this, and
      // an ioredis client without one reports a disconnect during its ready check as an unhandled error.
    },
  };
}
