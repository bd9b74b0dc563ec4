/**
 * Integration tests run against real services: the embedded FerretDB (or MONGODB_URI when set) and Redis.
 * Each test run starts its own FerretDB on a free port with its own data folder, so `npm start`, or another test
 * run, can go on beside it and nobody stops a database another run is using.
 *
 * First it makes sure the machine has what these tests need (test/prerequisites.ts): Go for the tools under tools/
 * (built here, once, into .data/bin), redis-server when no Redis answers, and Chromium for the browser tests;
 * it installs the Debian packages itself when it runs as root, and otherwise stops with what to install.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_REDIS_URL } from '../gateway/src/config-common';
import { DATA_DIR, isPortOpen, startFerretDB } from '../scripts/embedded/ferretdb';
import { buildGoTool, isGoToolCurrent, ROOT } from '../scripts/embedded/go-tool';
import { ensureRedis } from '../scripts/embedded/redis';
import { CHROMIUM, ensurePrerequisite, goToolchain, REDIS_SERVER, requiredGoVersion } from './prerequisites';
import { LOG_CAPTURE_ENV, secretsFileOf } from './support/log-capture';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The Go tools the integration tests run: the embedded FerretDB (unless MONGODB_URI) and the compose checker. */
function goTools(): string[] {
  return process.env.MONGODB_URI ? ['compose-check'] : ['ferretdb', 'compose-check'];
}

async function ensureMachine(redisUrl: string): Promise<void> {
  const tools = goTools();
  const stale = tools.filter((name) => !isGoToolCurrent(name));
  if (stale.length > 0) {
    ensurePrerequisite(goToolchain(requiredGoVersion(ROOT, stale)), { log });
    for (const name of stale) buildGoTool(name, (line) => log(`test setup: ${line}`));
  }
  const { hostname, port } = new URL(redisUrl);
  const local = hostname === '127.0.0.1' || hostname === 'localhost';
  if (local && !(await isPortOpen(hostname, Number(port || 6379)))) ensurePrerequisite(REDIS_SERVER, { log });
  ensurePrerequisite(CHROMIUM, { log });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Every log line of this run, from every process, is appended to one file that the global teardown scans for
 * secrets (support/log-scan.ts). Per run (pid), so two runs side by side do not mix.
 */
function startLogCapture(): void {
  const dir = join(DATA_DIR, 'log-capture');
  mkdirSync(dir, { recursive: true });
  const capture = join(dir, `run-${process.pid}.jsonl`);
  rmSync(capture, { force: true });
  rmSync(secretsFileOf(capture), { force: true });
  process.env[LOG_CAPTURE_ENV] = capture;
}

export default async function globalSetup(): Promise<void> {
  startLogCapture();
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  await ensureMachine(redisUrl);
  const redis = await ensureRedis(redisUrl, (line) => log(`test setup: ${line}`));
  (globalThis as Record<string, unknown>).__TOLLGATE_REDIS__ = redis;
  process.env.TEST_REDIS_URL = redisUrl;

  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  const dataDir = join(DATA_DIR, `test-ferretdb-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  const ferret = await startFerretDB({ port: await freePort(), dataDir, log: (l) => process.stderr.write(l + '\n') });
  (globalThis as Record<string, unknown>).__TOLLGATE_FERRETDB__ = { ferret, dataDir };
  process.env.TEST_MONGODB_URI = ferret.uri;
}
