/**
 * A subgraph's own metrics, served on its own `METRICS_PORT` (common/metrics-listener.ts) when configured: the
 * duration of the requests it serves, of the MongoDB commands it sends (from the driver's command monitoring, so
 * whatever mongoose or the driver sends is counted), and the size of its DataLoader batches. Names follow
 * OpenTelemetry's semantic conventions as Prometheus spells them (`db.client.operation.duration` →
 * `db_client_operation_duration_seconds`). Labels come from bounded sets: routes, the driver's command names,
 * loader names; never a tenant, a filter or a document value.
 *
 * Request, command and batch durations are series of our own (common/metrics/histogram.ts), each label set's resolved
 * once and kept here: prom-client's `labels(...).observe` re-validated and re-hashed the labels on every request
 * and every MongoDB command.
 */
import type { RequestHandler } from 'express';
import type { Connection } from 'mongoose';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { createHistogram, type HistogramSeries } from '../../common/metrics/histogram';
import type { BatchObserver } from './batch-observer';

export interface SubgraphMetrics {
  readonly registry: Registry;
  /** First middleware of the app: times every request. */
  readonly requests: RequestHandler;
  /** For the loaders (LoaderOptions.onBatch). */
  readonly batches: BatchObserver;
  /** Documents the platform API handled (kit/platform/api.ts): retention sweeps and erasures deleted, imports wrote. */
  platformDocuments(operation: 'sweep' | 'erase' | 'import', collection: string, count: number): void;
  /** Times the commands sent on `connection`, which must be opened with `monitorCommands: true`. */
  watch(connection: Connection): void;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000];
/** Route and method labels; a request's series is found by their indices and its status, with no string built. */
const ROUTES = ['/graphql', '/healthz', 'other'];
const METHODS = ['GET', 'POST', 'OPTIONS', 'HEAD', '_OTHER'];

function indexIn(labels: readonly string[], value: string): number {
  const at = labels.indexOf(value);
  return at === -1 ? labels.length - 1 : at;
}

export function createSubgraphMetrics(subgraph: string): SubgraphMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ subgraph });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const requestDuration = createHistogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests to the subgraph, by method, route and status.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const commandDuration = createHistogram({
    name: 'db_client_operation_duration_seconds',
    help: 'Duration of the MongoDB commands the subgraph sends, by command and outcome (error_type "none": succeeded).',
    labelNames: ['db_system_name', 'db_operation_name', 'error_type'],
    buckets: DB_BUCKETS,
    registers,
  });
  const batchSize = createHistogram({
    name: 'dataloader_batch_size',
    help: 'Keys per DataLoader batch, by loader (Model.path).',
    labelNames: ['loader'],
    buckets: BATCH_BUCKETS,
    registers,
  });
  const platformDocuments = new Counter({
    name: 'tollgate_platform_documents_total',
    help: 'Documents deleted by retention sweeps and erasures, and written by imports, through the platform API, by operation and collection.',
    labelNames: ['operation', 'collection'],
    registers,
  });

  const requestSeries = new Map<number, HistogramSeries>();
  const commandSeries = new Map<string, HistogramSeries>();
  const batchSeries = new Map<string, HistogramSeries>();

  return {
    registry,
    platformDocuments(operation, collection, count) {
      if (count > 0) platformDocuments.labels(operation, collection).inc(count);
    },
    requests: (req, res, next) => {
      const startedAt = process.hrtime.bigint();
      res.once('close', () => {
        const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
        const route = indexIn(ROUTES, req.path);
        const method = indexIn(METHODS, req.method);
        const status = res.statusCode;
        const key = (status * ROUTES.length + route) * METHODS.length + method;
        let series = requestSeries.get(key);
        if (!series) {
          series = requestDuration.series(METHODS[method]!, ROUTES[route]!, String(status));
          requestSeries.set(key, series);
        }
        series.observe(seconds);
      });
      next();
    },
    batches: {
      observe(loader, size) {
        let series = batchSeries.get(loader);
        if (!series) batchSeries.set(loader, (series = batchSize.series(loader)));
        series.observe(size);
      },
    },
    watch(connection) {
      const client = connection.getClient();
      // The events carry the duration in milliseconds; the command itself (filters, documents) is never read.
      client.on('commandSucceeded', (event: { commandName: string; duration: number }) => {
        let series = commandSeries.get(event.commandName);
        if (!series) {
          series = commandDuration.series('mongodb', event.commandName, 'none');
          commandSeries.set(event.commandName, series);
        }
        series.observe(event.duration / 1000);
      });
      client.on('commandFailed', (event: { commandName: string; duration: number; failure?: { name?: string } }) => {
        // Rare: resolved by its labels each time (series() finds the one made before).
        commandDuration
          .series('mongodb', event.commandName, event.failure?.name ?? 'Error')
          .observe(event.duration / 1000);
      });
    },
  };
}
