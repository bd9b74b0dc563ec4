/** The gateway process: configuration from the environment, started until SIGINT or SIGTERM. */
import { createLogger } from '../../common/logger';
import { SHUTDOWN_CLOSE_MARGIN_MS, flushAfter } from '../../common/shutdown';
import { startTracing } from '../../common/tracing/setup';
import { DEFAULT_SHUTDOWN, loadGatewayConfig } from './config';
import { startGateway } from './server';

async function main(): Promise<void> {
  const config = loadGatewayConfig(process.env);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, base: { service: 'gateway' } });
  // Registered before the gateway is built, so @apollo/gateway's spans are recorded from the first request.
  const tracing = config.tracing ? startTracing(config.tracing, { global: config.tracing.apolloSpans }) : undefined;
  const gateway = await startGateway(config, { logger, ...(tracing ? { tracing } : {}) });
  logger.info('gateway listening', {
    url: `${gateway.url}/graphql`,
    ...(gateway.metricsUrl ? { metrics: gateway.metricsUrl } : {}),
    ...(config.tracing ? { traces: config.tracing.endpoint ?? config.tracing.exporter } : {}),
  });

  // common/shutdown.ts: readiness fails at once, the gateway serves for SHUTDOWN_DELAY_MS, stops accepting, drains for at
  // most SHUTDOWN_GRACE_MS, flushes and closes. Exit 0 once all of it is done; 1 if it failed or overran.
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info('shutting down', { signal });
    const { delayMs, graceMs } = config.shutdown ?? DEFAULT_SHUTDOWN;
    const limitMs = delayMs + graceMs + SHUTDOWN_CLOSE_MARGIN_MS;
    setTimeout(() => {
      logger.error('graceful shutdown overran', { limitMs });
      process.exit(1);
    }, limitMs).unref();
    // Spans still buffered are exported once the last request drained (flushAfter, common/shutdown.ts).
    flushAfter(gateway.shutdown(), tracing).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('stop failed', { error });
        process.exit(1);
      },
    );
  };
  // `once`: a second signal gets Node's default and ends the process at once, for an operator who will not wait
  // for the drain.
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  createLogger({ base: { service: 'gateway' } }).error('failed to start', { error });
  // Whatever was opened before the failure (a Redis or MongoDB client) must not keep a half-started gateway alive.
  process.exit(1);
});
