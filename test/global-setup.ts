/**
 * Integration tests run against real services: the embedded FerretDB (or MONGODB_URI when set) and Redis.
 * The test FerretDB listens on its own port with its own data folder, so `npm start` can run beside the tests.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR, isPortOpen, startFerretDB } from '../scripts/embedded/ferretdb';
import { ensureRedis } from '../scripts/embedded/redis';

const TEST_MONGO_PORT = Number(process.env.TEST_FERRETDB_PORT ?? 27018);

export default async function globalSetup(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = await ensureRedis(redisUrl);
  (globalThis as Record<string, unknown>).__TOLLGATE_REDIS__ = redis;
  process.env.TEST_REDIS_URL = redisUrl;

  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  if (await isPortOpen('127.0.0.1', TEST_MONGO_PORT)) {
    // A FerretDB left by an earlier run (or started by hand) is reused.
    process.env.TEST_MONGODB_URI = `mongodb://127.0.0.1:${TEST_MONGO_PORT}/`;
    return;
  }
  const dataDir = join(DATA_DIR, 'test-ferretdb');
  rmSync(dataDir, { recursive: true, force: true });
  const ferret = await startFerretDB({ port: TEST_MONGO_PORT, dataDir, log: (l) => process.stderr.write(l + '\n') });
  (globalThis as Record<string, unknown>).__TOLLGATE_FERRETDB__ = ferret;
  process.env.TEST_MONGODB_URI = ferret.uri;
}
