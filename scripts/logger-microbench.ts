/**
 * What one log line costs (`npx tsx scripts/logger-microbench.ts [path/to/logger.ts]`): the request line and a
 * short line, to a sink that drops them (formatting, redaction and the trace mixin; not the write to stderr), and a
 * child logger's line; one inside an active span (trace ids added). Pass another logger module (e.g. the one before pino, from `git show`) to compare.
 */
import { resolve } from 'node:path';
import { Bench } from 'tinybench';
import { context, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { createLogger as CreateLogger } from '../common/logger';

async function main(): Promise<void> {
  const path = process.argv[2] ? resolve(process.argv[2]) : '../common/logger';
  const { createLogger } = (await import(path)) as { createLogger: typeof CreateLogger };
  let bytes = 0;
  const logger = createLogger({ level: 'info', base: { service: 'gateway' }, sink: (line) => (bytes += line.length) });
  const child = logger.child({ tenant: 'acme', request_id: 'b7c1e1d2-0a4e-4a57-9d55-0c1a3b0f9a11' });
  const requestLine = () => ({
    request_id: 'b7c1e1d2-0a4e-4a57-9d55-0c1a3b0f9a11',
    method: 'POST',
    path: '/graphql',
    status: 200,
    duration_ms: 12.345,
    tenant: 'acme',
    principal: 'user-42',
    credential: 'jwt',
    client_name: 'storefront-web',
    client_version: '3.2.1',
    operation_name: 'Storefront',
    cost_requested: 42,
    cost_actual: 37,
    subgraph_fetches: 3,
    codes: [] as string[],
  });
  // A tracer provider and a context manager, as when tracing is on: one line written inside an active span.
  new NodeTracerProvider().register();
  const span = trace.getTracer('bench').startSpan('request');
  const inSpan = trace.setSpan(context.active(), span);
  const bench = new Bench({ time: 1000 });
  bench
    .add('request line (15 fields)', () => logger.info('request', requestLine()))
    .add('short line (2 fields)', () => logger.info('refused', { code: 'FORBIDDEN', reason: 'role' }))
    .add('child line', () => child.info('cache miss', { cache: 'plans' }))
    .add('request line inside a span', () => context.with(inSpan, () => logger.info('request', requestLine())))
    .add('below level (debug)', () => logger.debug('not written', { tenant: 'acme' }));
  await bench.run();
  console.table(
    bench.tasks.map((task) => ({
      line: task.name,
      'median ns': Math.round((task.result as { latency: { p50: number } }).latency.p50 * 1e6),
      'mean ns': Math.round((task.result as { latency: { mean: number } }).latency.mean * 1e6),
    })),
  );
  if (bytes < 0) console.log(bytes);
}

void main();
