/**
 * Graceful shutdown of the gateway and of every subgraph, in the order load balancers need it: readiness fails at
 * once (gateway/src/health.ts and the subgraph kit's /readyz read `draining`), the listener keeps serving for
 * `delayMs` so every load balancer notices and stops sending, and only then does `stop` run — the listener stops
 * accepting, in-flight requests drain within the grace period (Apollo's drain plugin, `stopGracePeriodMillis`),
 * buffers are flushed and connections closed (the gateway's resources.ts: budget settlements, Redis, MongoDB; a
 * subgraph: its database).
 *
 * While draining, answers carry `Connection: close`: a keep-alive client otherwise keeps reusing a socket to a
 * replica that is going away, and learns of it only when the socket is closed under it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { RequestHandler } from 'express';
import type { Logger } from './logger';

export interface ShutdownConfig {
  /** How long the process keeps serving, unready, before it stops accepting (`SHUTDOWN_DELAY_MS`). */
  delayMs: number;
  /** How long in-flight requests get to finish once the listener stopped accepting (`SHUTDOWN_GRACE_MS`). */
  graceMs: number;
}

/** Configs built in code, and development: no delay (no load balancer to wait for). */
export const DEFAULT_SHUTDOWN: ShutdownConfig = { delayMs: 0, graceMs: 10_000 };
/** Production's delay: a few probe periods of a load balancer, so it stops sending before the listener closes. */
export const DEFAULT_PRODUCTION_SHUTDOWN_DELAY_MS = 5_000;
/** Flushing and closing after the drain gets this long before a process gives up and exits 1. */
export const SHUTDOWN_CLOSE_MARGIN_MS = 5_000;

export interface ShutdownOptions {
  /** How long the replica keeps serving, unready, before it stops accepting (`SHUTDOWN_DELAY_MS`). */
  delayMs: number;
  /** Stops accepting, drains and closes everything (resources.ts). */
  stop: () => Promise<void>;
  /** Told when draining begins and when stopping begins; nothing is logged without it. */
  logger?: Logger;
}

export interface Shutdown {
  /** True from the moment `shutdown` was called. */
  draining(): boolean;
  /** Fails readiness, waits the delay, then stops. Idempotent: a second call returns the first one's promise. */
  shutdown(): Promise<void>;
  /** Middleware: `Connection: close` on every answer once draining. */
  closeConnectionsWhileDraining: RequestHandler;
}

export function createShutdown(options: ShutdownOptions): Shutdown {
  let draining = false;
  let stopping: Promise<void> | undefined;
  return {
    draining: () => draining,
    shutdown() {
      draining = true;
      stopping ??= (async () => {
        options.logger?.info('draining: readiness fails, still serving', { delayMs: options.delayMs });
        if (options.delayMs > 0) await delay(options.delayMs);
        options.logger?.info('stopping: no new connections, draining in-flight requests');
        await options.stop();
      })();
      return stopping;
    },
    closeConnectionsWhileDraining: (_req, res, next) => {
      if (draining) res.setHeader('connection', 'close');
      next();
    },
  };
}

/**
 * What a process does after its shutdown resolved: flush and stop what outlives the listener — the tracing SDK's
 * buffered spans (common/tracing/setup.ts), which the last requests of the drain still added to. A flush that fails
 * does not fail the shutdown: the spans are lost, the process still exits cleanly.
 */
export async function flushAfter(stopped: Promise<void>, flushable?: { shutdown(): Promise<void> }): Promise<void> {
  await stopped;
  await flushable?.shutdown().catch(() => undefined);
}
