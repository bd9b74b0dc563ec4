import type { EmbeddedFerretDB } from '../scripts/embedded/ferretdb';
import type { RedisHandle } from '../scripts/embedded/redis';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  await (g.__TOLLGATE_FERRETDB__ as EmbeddedFerretDB | undefined)?.stop();
  await (g.__TOLLGATE_REDIS__ as RedisHandle | undefined)?.stop();
}
