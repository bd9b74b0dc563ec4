/**
 * Integration tests run against real services: the embedded FerretDB (or MONGODB_URI when set) and Redis.
 * Each test run starts its own FerretDB on a free port with its own data folder, so `npm start`, or another test
 * run, can go on beside it and nobody stops a database another run is using.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_REDIS_URL } from '../gateway/src/config-common';
import { DATA_DIR, startFerretDB } from '../scripts/embedded/ferretdb';
import { ensureRedis } from '../scripts/embedded/redis';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export default async function globalSetup(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const redis = await ensureRedis(redisUrl);
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
