/**
 * Failed authentications counted per client (an address, or an API key id) in a fixed window: after
 * `maxFailures` failures within `windowMs` of the first one, the client is held back for `blockMs` (http.ts answers
 * it 429 RATE_LIMITED with Retry-After unless its credential can be accepted from memory).
 *
 * Per process, deliberately. What a flood of bad credentials costs is each replica's CPU (signature checks, hashes)
 * — the control plane no longer pays anything for made-up keys (key-id-index.ts) — so the replica is the unit that
 * needs protecting; a shared count in Redis would add a round trip to every failure and a dependency to the
 * refusal path for no gain in what it protects. With R replicas an address gets at most R × maxFailures failures
 * through per window.
 *
 * Memory is bounded: at most `maxEntries` clients are tracked, the least recently failing dropped first, so made-up
 * addresses or ids cannot grow it. An attacker with more addresses than that can push a held-back address out
 * early; each address is then still limited to `maxFailures` per window as it comes back.
 */

export interface FailureLimiterOptions {
  /** Failures allowed within one window; the one that reaches it starts the hold. */
  maxFailures: number;
  windowMs: number;
  /** How long a client is held back once it reached `maxFailures`. */
  blockMs: number;
  /** Clients tracked at most. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  windowStartedAt: number;
  failures: number;
  blockedUntil: number;
}

export interface FailureLimiter {
  /** How much longer (ms) the client is held back; 0 when it is not. Reads only. */
  heldBackFor(client: string): number;
  /** Counts a failure; returns how long (ms) the client is now held back, 0 when it is not. */
  recordFailure(client: string): number;
  /** Clients tracked now (for tests and diagnostics). */
  readonly size: number;
}

export function createFailureLimiter(options: FailureLimiterOptions): FailureLimiter {
  const { maxFailures, windowMs, blockMs, maxEntries } = options;
  if (!(maxFailures >= 1 && windowMs >= 1 && blockMs >= 1 && maxEntries >= 1)) {
    throw new Error('the failure limiter needs maxFailures, windowMs, blockMs and maxEntries of at least 1');
  }
  const now = options.now ?? Date.now;
  // Insertion order is recency of the last failure: a failure re-inserts its client, eviction takes the first.
  const entries = new Map<string, Entry>();

  return {
    heldBackFor(client) {
      const entry = entries.get(client);
      if (!entry) return 0;
      const left = entry.blockedUntil - now();
      return left > 0 ? left : 0;
    },
    recordFailure(client) {
      const at = now();
      const found = entries.get(client);
      // A held-back client's failures are not counted again: the hold is already the answer.
      if (found && found.blockedUntil > at) return found.blockedUntil - at;
      const entry =
        found && found.windowStartedAt + windowMs > at ? found : { windowStartedAt: at, failures: 0, blockedUntil: 0 };
      entry.failures++;
      if (entry.failures >= maxFailures) {
        entry.blockedUntil = at + blockMs;
        // The count starts again when the hold ends.
        entry.failures = 0;
        entry.windowStartedAt = entry.blockedUntil;
      }
      entries.delete(client);
      entries.set(client, entry);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      return entry.blockedUntil > at ? entry.blockedUntil - at : 0;
    },
    get size() {
      return entries.size;
    },
  };
}
