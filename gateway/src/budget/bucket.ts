/**
 * The leaky bucket every budget is, in the terms Shopify's `throttleStatus` uses: it holds up to `capacity` cost
 * points, an operation takes its cost out, and points come back at `restoreRate` per second. A missing bucket is a
 * full one, so a bucket is deleted (or expires) as soon as it would be full again.
 *
 * The same arithmetic runs in Redis (`redis.ts`, in Lua) and here, for the per-process fallback.
 */

export interface BudgetPolicy {
  readonly capacity: number;
  /** Points per second. */
  readonly restoreRate: number;
}

export interface ThrottleStatus {
  readonly maximumAvailable: number;
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
}

/** The outcome of one atomic step on a bucket. */
export interface BucketStep {
  readonly applied: boolean;
  /** Points available after the step (or, when not applied, now). May be negative: see `apply`. */
  readonly available: number;
}

export function throttleStatus(policy: BudgetPolicy, available: number): ThrottleStatus {
  return {
    maximumAvailable: policy.capacity,
    currentlyAvailable: Math.floor(available),
    restoreRate: policy.restoreRate,
  };
}

/** Whole seconds until `amount` points are available, or undefined when the bucket can never hold that many. */
export function secondsUntilAvailable(policy: BudgetPolicy, available: number, amount: number): number | undefined {
  if (amount > policy.capacity) return undefined;
  return Math.max(1, Math.ceil((amount - available) / policy.restoreRate));
}

/** Whole seconds until the bucket is full again. */
export function secondsUntilFull(policy: BudgetPolicy, available: number): number {
  return Math.max(0, Math.ceil((policy.capacity - available) / policy.restoreRate));
}

export function policyProblems(policy: BudgetPolicy): string | undefined {
  if (!Number.isFinite(policy.capacity) || policy.capacity <= 0) return 'capacity must be a positive number';
  if (!Number.isFinite(policy.restoreRate) || policy.restoreRate <= 0) return 'restoreRate must be a positive number';
  return undefined;
}

interface StoredBucket {
  available: number;
  /** Milliseconds on the store's clock. */
  at: number;
}

/**
 * One bucket step, the reference for the Lua script (redis.ts), which follows it line for line: refill for the time
 * elapsed, then apply `pending` (settlements of earlier operations that rode along with this step: unconditional,
 * like any settlement), then take `amount` (a negative amount gives points back). A conditional step is not applied
 * when it would overdraw — the pending part is applied all the same, and `available` then reports the bucket with
 * it. An unconditional one may leave the bucket below zero — an operation that turned out dearer than estimated is
 * charged in full, as debt — but never below `-capacity`, so a debt is paid off within two refill periods. Both
 * parts are clamped to [-capacity, capacity] on their own, in that order.
 */
export function applyStep(
  stored: { available: number; elapsedSeconds: number } | undefined,
  policy: BudgetPolicy,
  amount: number,
  conditional: boolean,
  pending = 0,
): BucketStep {
  let available = stored
    ? Math.min(policy.capacity, stored.available + Math.max(0, stored.elapsedSeconds) * policy.restoreRate)
    : policy.capacity;
  if (pending !== 0) available = clamp(policy, available - pending);
  if (conditional && amount > available) return { applied: false, available };
  return { applied: true, available: clamp(policy, available - amount) };
}

function clamp(policy: BudgetPolicy, available: number): number {
  return Math.max(-policy.capacity, Math.min(policy.capacity, available));
}

/**
 * Buckets kept in this process when Redis cannot be reached. Each gateway replica has its own, so while Redis is
 * down a tenant can spend up to its capacity once per replica. Bounded: the least recently touched are dropped
 * first, which only ever makes a bucket full again.
 */
export class MemoryBuckets {
  private readonly buckets = new Map<string, StoredBucket>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  step(key: string, policy: BudgetPolicy, amount: number, conditional: boolean): BucketStep {
    const now = this.now();
    const stored = this.buckets.get(key);
    const step = applyStep(
      stored ? { available: stored.available, elapsedSeconds: (now - stored.at) / 1000 } : undefined,
      policy,
      amount,
      conditional,
    );
    if (!step.applied) return step;
    this.buckets.delete(key);
    if (step.available < policy.capacity) this.buckets.set(key, { available: step.available, at: now });
    while (this.buckets.size > this.maxEntries) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) break;
      this.buckets.delete(oldest.value);
    }
    return step;
  }

  clear(): void {
    this.buckets.clear();
  }
}
