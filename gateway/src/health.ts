/**
 * Liveness and readiness. `/healthz` says the process answers; `/readyz` says it can serve: the supergraph is
 * loaded and every subgraph answers a health check. Load balancers poll readiness often, so one check result is
 * shared for a short while and concurrent polls wait for the same check instead of each fanning out.
 *
 * The 503 body names the subgraphs that are down and nothing else: no URL, host or error text.
 */
import type { RequestHandler } from 'express';

export interface ReadinessOptions {
  supergraphLoaded: () => boolean;
  /** The subgraphs of the loaded supergraph. */
  subgraphs: () => readonly string[];
  /** Resolves when the subgraph answered the health check, rejects otherwise. */
  probe: (subgraph: string) => Promise<void>;
  cacheMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface Readiness {
  ready: boolean;
  supergraphLoaded: boolean;
  /** Names of the subgraphs that failed the health check, sorted. */
  down: string[];
}

export function createReadinessCheck(options: ReadinessOptions): () => Promise<Readiness> {
  const cacheMs = options.cacheMs ?? 2_000;
  const now = options.now ?? Date.now;
  let last: { at: number; result: Readiness } | undefined;
  let running: Promise<Readiness> | undefined;

  const check = async (): Promise<Readiness> => {
    const supergraphLoaded = options.supergraphLoaded();
    const names = supergraphLoaded ? options.subgraphs() : [];
    const results = await Promise.allSettled(names.map((name) => options.probe(name)));
    const down = names.filter((_, i) => results[i]?.status === 'rejected').sort();
    return { ready: supergraphLoaded && down.length === 0, supergraphLoaded, down };
  };

  return () => {
    if (last && now() - last.at < cacheMs) return Promise.resolve(last.result);
    running ??= check()
      .then((result) => {
        last = { at: now(), result };
        return result;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}

export function livenessHandler(): RequestHandler {
  return (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.status(200).json({ status: 'ok' });
  };
}

export function readinessHandler(readiness: () => Promise<Readiness>): RequestHandler {
  return async (_req, res) => {
    const { ready, supergraphLoaded, down } = await readiness();
    res.setHeader('cache-control', 'no-store');
    if (ready) {
      res.status(200).json({ status: 'ready' });
    } else {
      res.status(503).json({ status: 'unavailable', supergraphLoaded, down });
    }
  };
}
