/**
 * Graceful shutdown, in the order load balancers need it: readiness fails at once (health.ts reads `draining`),
 * the listener keeps serving for `delayMs` so every load balancer notices and stops sending, and only then does
 * `stop` run — the listener stops accepting, in-flight requests drain within the grace period (Apollo's drain
 * plugin, `stopGracePeriodMillis`), buffered budget settlements are flushed and Redis and MongoDB close
 * (resources.ts, last opened first).
 *
 * While draining, answers carry `Connection: close`: a keep-alive client otherwise keeps reusing a socket to a
 * replica that is going away, and learns of it only when the socket is closed under it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { RequestHandler } from 'express';
import type { Logger } from '../../common/logger';

export interface ShutdownOptions {
  /** How long the replica keeps serving, unready, before it stops accepting (`SHUTDOWN_DELAY_MS`). */
  delayMs: number;
  /** Stops accepting, drains and closes everything (resources.ts). */
  stop: () => Promise<void>;
  logger: Logger;
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
        options.logger.info('draining: readiness fails, still serving', { delayMs: options.delayMs });
        if (options.delayMs > 0) await delay(options.delayMs);
        options.logger.info('stopping: no new connections, draining in-flight requests');
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
