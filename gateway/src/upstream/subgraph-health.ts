/**
 * Subgraph health, for the operator only: a health check of every subgraph (through the data sources that bypass
 * the circuit breakers, data-source.ts), run every `intervalMs` in the background and on demand. Transitions are
 * logged (`component: "subgraph-health"`, `subgraph`, `state`; down at warn), and `StartedGateway.subgraphHealth()`
 * returns the states with each breaker's. None of it reaches readiness or a public body (health.ts says why).
 */
import type { Logger } from '../../../common/logger';
import type { BreakerState } from './circuit-breaker';

export type SubgraphState = 'up' | 'down';

export interface SubgraphHealth {
  /** The result of the last check of each subgraph; absent before its first check. */
  subgraphs: Record<string, SubgraphState>;
  /** Each subgraph's circuit breaker state (subgraphs not fetched yet are absent). */
  breakers: Record<string, BreakerState>;
}

export interface SubgraphHealthOptions {
  /** The subgraphs of the loaded supergraph. */
  subgraphs: () => readonly string[];
  /** Resolves when the subgraph answered the health check, rejects otherwise. */
  probe: (subgraph: string) => Promise<void>;
  breakerStates: () => Record<string, BreakerState>;
  logger: Logger;
  /** How often the background check runs; 0 runs none (checks then happen on demand only). */
  intervalMs: number;
}

export interface SubgraphHealthMonitor {
  /** Checks every subgraph now and returns the states. */
  check(): Promise<SubgraphHealth>;
  stop(): void;
}

export const DEFAULT_SUBGRAPH_HEALTH_INTERVAL_MS = 15_000;

export function createSubgraphHealthMonitor(options: SubgraphHealthOptions): SubgraphHealthMonitor {
  const logger = options.logger.child({ component: 'subgraph-health' });
  const states: Record<string, SubgraphState> = {};
  let running: Promise<void> | undefined;

  const checkAll = async () => {
    const names = options.subgraphs();
    const results = await Promise.allSettled(names.map((name) => options.probe(name)));
    names.forEach((name, i) => {
      const state: SubgraphState = results[i]?.status === 'fulfilled' ? 'up' : 'down';
      const from = states[name];
      states[name] = state;
      if (state === from) return;
      // A first "up" is the normal case and not worth a line; a first "down" is.
      if (state === 'down') logger.warn('subgraph health check failed', { subgraph: name, state, from });
      else if (from !== undefined) logger.info('subgraph health check passed', { subgraph: name, state, from });
    });
  };

  const check = async (): Promise<SubgraphHealth> => {
    running ??= checkAll().finally(() => {
      running = undefined;
    });
    await running;
    return { subgraphs: { ...states }, breakers: options.breakerStates() };
  };

  const timer = options.intervalMs > 0 ? setInterval(() => void check(), options.intervalMs) : undefined;
  timer?.unref();
  return {
    check,
    stop: () => clearInterval(timer),
  };
}
