/**
 * The embedded MongoDB-compatible server: FerretDB v1 with its SQLite backend, built from tools/ferretdb (our own
 * small Go program around FerretDB's embeddable package) and run as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { buildGoTool } from './go-tool';

export { DATA_DIR, ROOT } from './go-tool';

export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface EmbeddedFerretDB {
  uri: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts FerretDB on host:port with its data under dataDir and resolves once it accepts connections. */
export async function startFerretDB(options: {
  host?: string;
  port: number;
  dataDir: string;
  log?: (line: string) => void;
  /** A loopback `host:port` where the server serves Go's `/debug/pprof` (profiling the bench's data tier); off if absent. */
  debugAddr?: string;
  /** FerretDB as released, without tools/ferretdb/_overlay's patches (the bench's "before"). */
  upstream?: boolean;
}): Promise<EmbeddedFerretDB> {
  const host = options.host ?? '127.0.0.1';
  const binary = buildGoTool('ferretdb', options.log, { upstream: options.upstream ?? false });
  mkdirSync(options.dataDir, { recursive: true });
  const debug = options.debugAddr ? ['-debug-addr', options.debugAddr] : [];
  const child = spawn(binary, ['-listen', `${host}:${options.port}`, '-data', options.dataDir, ...debug], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!(await isPortOpen(host, options.port))) {
    if (child.exitCode !== null) throw new Error(`FerretDB exited with code ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('FerretDB did not start listening within 30 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    uri: `mongodb://${host}:${options.port}/`,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
