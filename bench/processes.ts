/**
 * Child processes of the benchmarks (bench/run.ts, bench/flood.ts): bundles run with plain node, each logging to a
 * file of its own, optionally pinned to one core; waiting for a URL to answer; the four real subgraphs as separate
 * processes with their own databases and internal keys.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { deriveSubgraphKey } from '../common/internal-token';
import { buildBundles, type BundleEntry } from '../scripts/build';
import { ROOT } from '../scripts/embedded/ferretdb';
import { SUBGRAPH_NAMES, type SubgraphName } from '../subgraphs/catalog';

export interface LaunchOptions {
  /** The core to pin the process to with taskset; ignored by a launcher that does not pin. */
  core?: number;
  /** Flags for node itself, before the script (profiling, heap size, source maps). */
  nodeFlags?: string[];
  /** Opens an IPC channel to the child (the flood gateway answers heap questions over it). */
  ipc?: boolean;
}

export interface Launcher {
  /** Runs `node ...nodeFlags ...args` with the environment plus `extraEnv`; output to `<logsDir>/<logPrefix><name>.log`. */
  launch(name: string, args: string[], extraEnv: Record<string, string>, options?: LaunchOptions): ChildProcess;
  /** SIGTERM to every child still running, newest first; SIGKILL after 8 s. */
  stopAll(): Promise<void>;
}

export interface LauncherOptions {
  logsDir: string;
  /** Prefix of each log file's name (`flood-` keeps the flood's logs apart from the overhead run's). */
  logPrefix?: string;
  /** Pin processes that name a core (taskset present and at least two cores). */
  pin?: boolean;
}

export function createLauncher({ logsDir, logPrefix = '', pin = false }: LauncherOptions): Launcher {
  const children: ChildProcess[] = [];
  return {
    launch(name, args, extraEnv, { core, nodeFlags = [], ipc = false } = {}) {
      mkdirSync(logsDir, { recursive: true });
      const out = openSync(join(logsDir, `${logPrefix}${name}.log`), 'w');
      const command = [process.execPath, ...nodeFlags, ...args];
      const [file, ...argv] = pin && core !== undefined ? ['taskset', '-c', String(core), ...command] : command;
      // taskset execs the command, so the child's pid is the node process's.
      const child = spawn(file!, argv, {
        cwd: ROOT,
        env: { ...process.env, ...extraEnv },
        stdio: ipc ? ['ignore', out, out, 'ipc'] : ['ignore', out, out],
      });
      closeSync(out);
      children.push(child);
      return child;
    },
    async stopAll() {
      for (const child of [...children].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `url` until it answers below 500, or throws after `timeoutMs` with the last status or error. */
export async function waitFor(url: string, init: RequestInit | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      if (res.status < 500) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s: ${last}`);
}

/** An empty POST: a subgraph answers it (below 500) once its server is up. */
export const EMPTY_POST: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' };

/**
 * Builds the subgraph bundle and the given gateway entries (bundle name → entry point) into `outdir`
 * (scripts/build.ts), so that every process of a benchmark runs with plain node, as the image runs it: no TypeScript
 * transform in the measurements. Returns each bundle's file by name.
 */
export async function buildBenchBundles(
  outdir: string,
  gateways: Record<string, string>,
  log: (line: string) => void,
): Promise<{ subgraph: string } & Record<string, string>> {
  const entries: BundleEntry[] = [
    { in: 'subgraphs/run.ts', out: 'subgraph' },
    ...Object.entries(gateways).map(([out, entry]) => ({ in: entry, out })),
  ];
  const built = await buildBundles({ outdir, defaults: false, entries, log });
  return Object.fromEntries(entries.map((entry, i) => [entry.out, built[i]!.file])) as { subgraph: string } & Record<
    string,
    string
  >;
}

export interface SubgraphsOptions {
  launcher: Launcher;
  /** The subgraph bundle (subgraphs/run.ts). */
  bundle: string;
  mongoUri: string;
  dbNameFor: (name: SubgraphName) => string;
  /** The gateway's internal secret: each subgraph gets the key derived from it for its name. */
  secret: Buffer;
  /** The first subgraph's port; the others follow in SUBGRAPH_NAMES order. */
  portBase: number;
  /** More environment for every subgraph. */
  extraEnv?: Record<string, string>;
  launch?: LaunchOptions;
}

/** The environment of one subgraph process (subgraphs/run.ts) on `port`. */
export function subgraphEnv(
  name: SubgraphName,
  port: number,
  options: Pick<SubgraphsOptions, 'mongoUri' | 'dbNameFor' | 'secret' | 'extraEnv'>,
): Record<string, string> {
  return {
    PORT: String(port),
    MONGODB_URI: options.mongoUri,
    MONGODB_DB: options.dbNameFor(name),
    TOLLGATE_INTERNAL_KEY: deriveSubgraphKey(options.secret, name).toString('hex'),
    LOG_LEVEL: 'warn',
    ...options.extraEnv,
  };
}

/**
 * Launches the four subgraphs (not waiting for them: see `waitForSubgraphs`). Returns the gateways' environment
 * naming them (`<NAME>_URL`) and their processes.
 */
export function launchSubgraphs(options: SubgraphsOptions): { urls: Record<string, string>; children: ChildProcess[] } {
  const urls: Record<string, string> = {};
  const children = SUBGRAPH_NAMES.map((name, i) => {
    const port = options.portBase + i;
    urls[`${name.toUpperCase()}_URL`] = `http://127.0.0.1:${port}/graphql`;
    return options.launcher.launch(
      `subgraph-${name}`,
      [options.bundle, name],
      subgraphEnv(name, port, options),
      options.launch,
    );
  });
  return { urls, children };
}

export async function waitForSubgraphs(urls: Record<string, string>, timeoutMs?: number): Promise<void> {
  for (const url of Object.values(urls)) await waitFor(url, EMPTY_POST, timeoutMs);
}
