import { rmSync } from 'node:fs';
import type { EmbeddedFerretDB } from '../scripts/embedded/ferretdb';
import type { RedisHandle } from '../scripts/embedded/redis';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const test = g.__TOLLGATE_FERRETDB__ as { ferret: EmbeddedFerretDB; dataDir: string } | undefined;
  if (test) {
    await test.ferret.stop();
    rmSync(test.dataDir, { recursive: true, force: true });
  }
  await (g.__TOLLGATE_REDIS__ as RedisHandle | undefined)?.stop();
}
