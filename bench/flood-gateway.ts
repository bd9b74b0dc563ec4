/**
 * The gateway process of the flood benchmark (bench/flood.ts): gateway/src/main.ts plus an IPC channel through
 * which the bench asks for a full garbage collection and the heap that survives it. Run with `--expose-gc`; the bench
 * starts it with a small heap (`--max-old-space-size`) to see whether a flood of distinct documents can kill it.
 */
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { createLogger } from '../common/logger';
import { loadGatewayConfig } from '../gateway/src/config';
import { startGateway } from '../gateway/src/server';

export interface FloodGatewayStats {
  /** V8's used heap after two full collections, in bytes. */
  heapUsedAfterGc: number;
  heapLimit: number;
  rss: number;
  /** The gateway's per-document caches as it reports them (absent on a gateway that does not). */
  caches?: unknown;
}

async function main(): Promise<void> {
  const config = loadGatewayConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { service: 'gateway' } });
  const gateway = await startGateway(config, { logger });
  logger.info('gateway listening', { url: `${gateway.url}/graphql` });
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (message: unknown) => {
    // `{ snapshot: file }`: a heap snapshot for finding what the flood left behind (bench/heap-summary.ts).
    if (typeof message === 'object' && message !== null && 'snapshot' in message) {
      process.send?.({ snapshot: writeHeapSnapshot(String((message as { snapshot: unknown }).snapshot)) });
      return;
    }
    if (message !== 'stats') return;
    if (!gc) throw new Error('the flood gateway runs with --expose-gc');
    gc();
    gc();
    const report = (gateway as { caches?: () => unknown }).caches?.();
    const stats: FloodGatewayStats = {
      heapUsedAfterGc: process.memoryUsage().heapUsed,
      heapLimit: getHeapStatistics().heap_size_limit,
      rss: process.memoryUsage().rss,
      ...(report === undefined ? {} : { caches: report }),
    };
    process.send?.(stats);
  });
  process.once('SIGTERM', () => {
    void gateway.stop().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  createLogger({ base: { service: 'gateway' } }).error('failed to start', { error });
  process.exit(1);
});
