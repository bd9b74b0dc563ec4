/**
 * `node --import tsx subgraphs/run.ts NAME` (or `node dist/subgraph.js NAME`, its bundle from `npm run build`) starts
 * one subgraph from the environment:
 *
 *   PORT                   listening port (default: the catalog's port for NAME)
 *   HOST                   interface (default 127.0.0.1)
 *   MONGODB_URI            required
 *   MONGODB_DB             database (default tollgate_NAME)
 *   TOLLGATE_INTERNAL_KEY  required: hex of this subgraph's key derived from the gateway secret, ≥ 32 bytes
 *   LOG_LEVEL              debug | info | warn | error (default info)
 *   SUBGRAPH_CONNECTION_LOADER  batched (default) | per-parent: how connection fields read pages (bench comparison)
 *   SUBGRAPH_COUNT_COMMANDS     1: count database commands, GET /_bench/commands from loopback (bench)
 *   SHUTDOWN_DELAY_MS      on SIGTERM, serve with /readyz failing this long first (default 5000 in production, else 0)
 *   SHUTDOWN_GRACE_MS      then let in-flight requests finish for at most this long (default 10000)
 *   OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER(_ARG), TOLLGATE_TRACES  tracing, off unless
 *                          an endpoint is set (common/tracing/settings.ts, README "Observability")
 *   ENCRYPTION_AT_REST     on (default) | off: personal fields sealed at rest (kit/encryption)
 *   ENCRYPTION_MASTER_KEY, ENCRYPTION_MASTER_KEY_FILE  64 hex digits; required in production while on, else a
 *                          development key under .data/secrets
 *   ENCRYPTION_KEY_CACHE_MAX, ENCRYPTION_KEY_CACHE_TTL_MS  bounds of the unwrapped-key cache
 *   METRICS_PORT, METRICS_HOST  Prometheus metrics at http://METRICS_HOST:METRICS_PORT/metrics (off unless set;
 *                          host 127.0.0.1 by default)
 *   REQUEST_DEADLINE_MS, MONGODB_{SERVER_SELECTION,CONNECT,SOCKET}_TIMEOUT_MS, HTTP_*: deadlines and timeouts,
 *                          see run-config.ts and the README's Configuration table
 *
 * It logs one JSON line once listening. SIGINT or SIGTERM stops it gracefully (common/shutdown.ts): /readyz fails at
 * once, it serves for SHUTDOWN_DELAY_MS, then takes no new requests, running ones finish, the database closes.
 */
import { createLogger } from '../common/logger';
import { SHUTDOWN_CLOSE_MARGIN_MS, flushAfter } from '../common/shutdown';
import { startTracing } from '../common/tracing/setup';
import { startNamedSubgraph } from './definitions';
import { encryptionOptionsOf } from './kit/encryption';
import { parseRunConfig, type RunConfig } from './run-config';

async function main(): Promise<void> {
  let config: RunConfig;
  try {
    config = parseRunConfig(process.argv.slice(2), process.env);
  } catch (error) {
    createLogger().error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, base: { service: config.name } });
  // Global: the MongoDB command spans find the request's span in the active context (kit/tracing.ts).
  const tracing = config.tracing ? startTracing(config.tracing, { global: true }) : undefined;
  const running = await startNamedSubgraph(config.name, {
    host: config.host,
    port: config.port,
    mongoUri: config.mongoUri,
    dbName: config.dbName,
    internalKey: config.internalKey,
    logger,
    http: config.http,
    database: config.database,
    maxRequestDeadlineMs: config.maxRequestDeadlineMs,
    connectionLoader: config.connectionLoader,
    countCommands: config.countCommands,
    shutdown: config.shutdown,
    encryption: encryptionOptionsOf(config.encryption),
    // A running subgraph never creates indexes: `tollgate migrate` does, and this refuses to start without them.
    indexes: 'verify',
    ...(config.metrics ? { metrics: config.metrics } : {}),
    ...(tracing ? { tracer: tracing.tracer } : {}),
  });
  // The URI may carry credentials: only the database name is logged.
  logger.info('listening', {
    url: running.url,
    db: config.dbName,
    encryption: config.encryption.enabled ? `on (${config.encryption.source} master key)` : 'off',
    ...(running.metricsUrl ? { metrics: running.metricsUrl } : {}),
  });

  const stop = (signal: NodeJS.Signals) => {
    logger.info('stopping', { signal });
    const timeoutMs = config.shutdown.delayMs + config.shutdown.graceMs + SHUTDOWN_CLOSE_MARGIN_MS;
    setTimeout(() => {
      logger.error('graceful stop timed out', { timeoutMs });
      process.exit(1);
    }, timeoutMs).unref();
    flushAfter(running.shutdown(), tracing).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('stop failed', { error });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  createLogger().error('failed to start', { error });
  process.exit(1);
});
