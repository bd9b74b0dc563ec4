/** The gateway process: configuration from the environment, started until SIGINT or SIGTERM. */
import { createLogger } from '../../common/logger';
import { loadGatewayConfig } from './config';
import { startGateway } from './server';

async function main(): Promise<void> {
  const config = loadGatewayConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { service: 'gateway' } });
  const gateway = await startGateway(config, { logger });
  logger.info('gateway listening', { url: `${gateway.url}/graphql`, ...(gateway.metricsUrl ? { metrics: gateway.metricsUrl } : {}) });

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info('stopping', { signal });
    gateway.stop().then(
      () => logger.info('stopped'),
      (error: unknown) => {
        logger.error('stop failed', { error });
        process.exitCode = 1;
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
