/**
 * The embedded MongoDB-compatible server: FerretDB v1 with its SQLite backend, built from tools/ferretdb (our own
 * small Go program around FerretDB's embeddable package) and run as a child process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';

export const ROOT = join(__dirname, '..', '..');
export const DATA_DIR = join(ROOT, '.data');
const SOURCE_DIR = join(ROOT, 'tools', 'ferretdb');
export const FERRETDB_BINARY = join(DATA_DIR, 'bin', 'tollgate-ferretdb');

function newestSourceChange(): number {
  return Math.max(...readdirSync(SOURCE_DIR).map((f) => statSync(join(SOURCE_DIR, f)).mtimeMs));
}

/** Builds the Go program when it is missing or older than its source. Needs Go and the Go module proxy. */
export function buildFerretDB(log: (line: string) => void = () => {}): string {
  if (existsSync(FERRETDB_BINARY) && statSync(FERRETDB_BINARY).mtimeMs >= newestSourceChange()) return FERRETDB_BINARY;
  log('building the embedded FerretDB (first run takes a minute or two)…');
  mkdirSync(join(DATA_DIR, 'bin'), { recursive: true });
  const result = spawnSync('go', ['build', '-o', FERRETDB_BINARY, '.'], { cwd: SOURCE_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) throw new Error(`cannot run go (is the Go toolchain installed?): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`go build of tools/ferretdb failed with exit code ${result.status}`);
  return FERRETDB_BINARY;
}

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
export async function startFerretDB(options: { host?: string; port: number; dataDir: string; log?: (line: string) => void }): Promise<EmbeddedFerretDB> {
  const host = options.host ?? '127.0.0.1';
  const binary = buildFerretDB(options.log);
  mkdirSync(options.dataDir, { recursive: true });
  const child = spawn(binary, ['-listen', `${host}:${options.port}`, '-data', options.dataDir], {
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
