/**
 * Liveness and readiness, for load balancers and orchestrators. `/healthz` says the process answers; `/readyz` says
 * this replica can serve: the supergraph is loaded, the control plane is usable (MongoDB answers, or the tenant
 * directory is warm enough to serve from memory) and the replica is not shutting down.
 *
 * Readiness never depends on the subgraphs: every replica reaches the same subgraphs, so a readiness that fails
 * when one of them is down takes every replica out of the Service at once — a full outage made of a partial one,
 * while operations that do not touch that subgraph would still have succeeded. Subgraph health is the operator's
 * (upstream/subgraph-health.ts: logs and `StartedGateway.subgraphHealth()`), never in a public body: both bodies
 * here are a bare status.
 *
 * Load balancers poll readiness often, so one control-plane check is shared for a short while and concurrent polls
 * wait for the same check. Draining is read on every poll, uncached: it must fail at once on SIGTERM.
 */
import type { RequestHandler } from 'express';

export interface ReadinessOptions {
  supergraphLoaded: () => boolean;
  /** True once shutdown began (common/shutdown.ts): readiness fails from then on, whatever else holds. */
  draining: () => boolean;
  /** Resolves when the control plane answers (a ping), rejects otherwise. */
  pingControlPlane: () => Promise<void>;
  /** Whether the tenant directory holds tenants it can serve from while the control plane is unreachable. */
  directoryWarm: () => boolean;
  cacheMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface Readiness {
  ready: boolean;
  /** Why not, for the operator's log; never sent to clients. */
  reason?: 'supergraph-not-loaded' | 'draining' | 'control-plane-unavailable';
}

export function createReadinessCheck(options: ReadinessOptions): () => Promise<Readiness> {
  const cacheMs = options.cacheMs ?? 2_000;
  const now = options.now ?? Date.now;
  let last: { at: number; usable: boolean } | undefined;
  let running: Promise<boolean> | undefined;

  const controlPlaneUsable = (): Promise<boolean> => {
    if (last && now() - last.at < cacheMs) return Promise.resolve(last.usable);
    running ??= options
      .pingControlPlane()
      .then(
        () => true,
        // A warm directory serves the tenants it knows (refreshing-cache.ts serves stale entries while the control
        // plane is down); a cold one can authenticate nobody.
        () => options.directoryWarm(),
      )
      .then((usable) => {
        last = { at: now(), usable };
        return usable;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return async () => {
    if (options.draining()) return { ready: false, reason: 'draining' };
    if (!options.supergraphLoaded()) return { ready: false, reason: 'supergraph-not-loaded' };
    if (!(await controlPlaneUsable())) return { ready: false, reason: 'control-plane-unavailable' };
    // Shutdown may have begun while the ping ran.
    if (options.draining()) return { ready: false, reason: 'draining' };
    return { ready: true };
  };
}

export function livenessHandler(): RequestHandler {
  return (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.status(200).json({ status: 'ok' });
  };
}

/** The body is a bare status either way; the reason goes to the log, at debug while draining (expected) else warn. */
export function readinessHandler(
  readiness: () => Promise<Readiness>,
  log?: (readiness: Readiness) => void,
): RequestHandler {
  return async (_req, res) => {
    const result = await readiness();
    res.setHeader('cache-control', 'no-store');
    if (result.ready) {
      res.status(200).json({ status: 'ready' });
    } else {
      log?.(result);
      res.status(503).json({ status: 'unavailable' });
    }
  };
}
