/**
 * Gateway replicas as real processes for integration tests: `node --import tsx gateway/src/main.ts` children with the
 * environment a test gives them, started once they log `gateway listening`, stopped with SIGTERM as an orchestrator
 * stops them. Shared by the multi-replica tests (replicas.test.ts, redis/cluster.test.ts, test/rolling-deploy.test.ts)
 * so they spawn, wait and stop one way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SUBGRAPH_NAMES } from '../../../subgraphs/catalog';

const ROOT = join(__dirname, '..', '..', '..');
/** A start on a loaded CI core (tsx compiling the gateway) can take tens of seconds. */
const START_TIMEOUT_MS = 60_000;

export interface Replica {
  /** The replica's /graphql URL. */
  url: string;
  /** Scheme, host and port: where /readyz, /healthz and /graphql live. */
  origin: string;
  child: ChildProcess;
  /** Its Prometheus endpoint, when started with METRICS_PORT. */
  metricsUrl?: string;
  /** Every line the replica logged (JSON), for a failing test's message. */
  logs: string[];
  /** The exit code once the process ended (null when a signal ended it). */
  exited: Promise<number | null>;
}

/** `<NAME>_URL` for every subgraph, all pointing at a port nothing listens on: for tests of the gateway alone. */
export function unreachableSubgraphUrls(): Record<string, string> {
  return Object.fromEntries(SUBGRAPH_NAMES.map((name) => [`${name.toUpperCase()}_URL`, 'http://127.0.0.1:9/graphql']));
}

/**
 * Starts one gateway process with `env` (plus PATH only: nothing of the test's own environment leaks in) and
 * resolves once it logged `gateway listening`; rejects with its log if it exits or does not start in time.
 */
export function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'gateway/src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gateway did not start:\n${logs.join('\n')}`));
    }, START_TIMEOUT_MS);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code}:\n${logs.join('\n')}`));
    });
    // The reader stays attached for the whole life of the process: an unread stderr pipe would block it once full.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line);
      let record: { msg?: unknown; url?: unknown; metrics?: unknown };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        return;
      }
      if (record.msg === 'gateway listening' && typeof record.url === 'string') {
        clearTimeout(timer);
        const metricsUrl = typeof record.metrics === 'string' ? record.metrics : undefined;
        resolve({
          url: record.url,
          origin: new URL(record.url).origin,
          child,
          logs,
          exited,
          ...(metricsUrl ? { metricsUrl } : {}),
        });
      }
    });
  });
}

/** SIGTERM, as an orchestrator sends it; resolves with the exit code once the process ended. */
export function stopReplica(replica: Replica | undefined): Promise<number | null> {
  if (!replica) return Promise.resolve(null);
  if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGTERM');
  return replica.exited;
}
