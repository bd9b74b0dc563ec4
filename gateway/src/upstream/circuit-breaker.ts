/**
 * A circuit breaker per subgraph. After `failureThreshold` consecutive failed fetches (timeouts, connection errors,
 * 5xx, malformed answers) the breaker opens and the gateway stops sending that subgraph anything: its fields fail at
 * once, so a sick subgraph costs neither a socket nor the full timeout per request, and the rest of each operation
 * still answers. After `coolDownMs` one live request goes through as a probe (half-open): its success closes the
 * breaker, its failure opens it for another cool-down. Nothing is ever retried, a probe included: the probe is the
 * client's own request sent once, so a mutation applies at most once whatever the breaker does.
 *
 * The algorithm is pure (a clock and a callback are injected); the data source decides what counts as a failure.
 */
import type { Logger } from '../../../common/logger';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open a closed breaker. ≥ 1. */
  failureThreshold: number;
  /** How long an open breaker refuses everything before it lets one probe through. */
  coolDownMs: number;
  /** Told of every state change, after it happened (for logs and, later, metrics). */
  onStateChange?: (to: BreakerState, from: BreakerState) => void;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Leave to send one request. Exactly one of the three ends it; later calls are ignored, so a `finally` may call
 * `release()` after `success()` or `failure()` without effect.
 */
export interface BreakerPermit {
  /** The subgraph answered: it is up. */
  success(): void;
  /** The subgraph failed (timeout, connection, 5xx, malformed answer). */
  failure(): void;
  /** The outcome says nothing about the subgraph's health (the request was refused for its content, say). */
  release(): void;
}

export interface CircuitBreaker {
  /** A permit to send one request, or `undefined` when the breaker refuses (open, or a probe already in flight). */
  tryAcquire(): BreakerPermit | undefined;
  state(): BreakerState;
}

export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  if (!Number.isSafeInteger(options.failureThreshold) || options.failureThreshold < 1)
    throw new Error('failureThreshold must be an integer ≥ 1');
  if (!(options.coolDownMs >= 0)) throw new Error('coolDownMs must be ≥ 0');
  const now = options.now ?? Date.now;
  let state: BreakerState = 'closed';
  let consecutiveFailures = 0;
  let openedAt = 0;
  let probeInFlight = false;
  // Every transition starts a new generation. An outcome from an earlier one is stale and ignored: when a hung
  // subgraph opens the breaker, the 60 requests that were waiting on it time out afterwards and must neither reopen
  // it at the end of a later cool-down nor count against the probe.
  let generation = 0;

  const moveTo = (to: BreakerState) => {
    const from = state;
    state = to;
    generation += 1;
    probeInFlight = false;
    consecutiveFailures = 0;
    if (to === 'open') openedAt = now();
    options.onStateChange?.(to, from);
  };

  const permit = (probe: boolean): BreakerPermit => {
    const issuedIn = generation;
    let done = false;
    const end = (outcome: 'success' | 'failure' | 'release') => {
      if (done) return;
      done = true;
      if (issuedIn !== generation) return;
      if (probe) {
        if (outcome === 'success') moveTo('closed');
        else if (outcome === 'failure') moveTo('open');
        // Released without a verdict: the next request probes instead.
        else probeInFlight = false;
        return;
      }
      if (outcome === 'success') consecutiveFailures = 0;
      else if (outcome === 'failure') {
        consecutiveFailures += 1;
        if (consecutiveFailures >= options.failureThreshold) moveTo('open');
      }
    };
    return { success: () => end('success'), failure: () => end('failure'), release: () => end('release') };
  };

  return {
    tryAcquire() {
      if (state === 'open') {
        if (now() - openedAt < options.coolDownMs) return undefined;
        moveTo('half-open');
      }
      if (state === 'half-open') {
        if (probeInFlight) return undefined;
        probeInFlight = true;
        return permit(true);
      }
      return permit(false);
    },
    state: () => state,
  };
}

export interface SubgraphBreakersOptions {
  failureThreshold: number;
  coolDownMs: number;
  logger: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

/** One breaker per subgraph name, and a read-only view of their states for readiness and metrics. */
export interface SubgraphBreakers {
  /** The breaker of one subgraph, created closed on first use. */
  of(subgraph: string): CircuitBreaker;
  /** Every breaker's state, by subgraph name. */
  states(): Record<string, BreakerState>;
}

export function createSubgraphBreakers(options: SubgraphBreakersOptions): SubgraphBreakers {
  const log = options.logger.child({ component: 'circuit-breaker' });
  const breakers = new Map<string, CircuitBreaker>();
  return {
    of(subgraph) {
      let breaker = breakers.get(subgraph);
      if (!breaker) {
        breaker = createCircuitBreaker({
          failureThreshold: options.failureThreshold,
          coolDownMs: options.coolDownMs,
          ...(options.now ? { now: options.now } : {}),
          // Opening is news an operator must see; the rest of the cycle is how it ends.
          onStateChange: (state, from) => {
            if (state === 'open') log.warn('subgraph circuit breaker changed state', { subgraph, state, from });
            else log.info('subgraph circuit breaker changed state', { subgraph, state, from });
          },
        });
        breakers.set(subgraph, breaker);
      }
      return breaker;
    },
    states: () => Object.fromEntries([...breakers].map(([name, breaker]) => [name, breaker.state()])),
  };
}
