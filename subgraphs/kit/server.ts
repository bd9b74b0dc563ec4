/**
 * Starts one subgraph: its own mongoose connection, its tenant-scoped models, the federated schema behind
 * graphql-shield, and Apollo Server behind the gateway-token middleware, on `POST /graphql` only.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import type { Connection } from 'mongoose';
import type { Tracer } from '@opentelemetry/api';
import { graphqlHandler } from '../../common/apollo-express';
import {
  DEFAULT_HTTP_SERVER_TIMEOUTS,
  createHttpServer,
  type HttpServerTimeouts,
} from '../../common/http-server-timeouts';
import { createLogger, type Logger } from '../../common/logger';
import type { IndexMode } from '../../common/indexes';
import { DEFAULT_SHUTDOWN, createShutdown, type ShutdownConfig } from '../../common/shutdown';
import type { SubgraphName } from '../catalog';
import { startMetricsListener, type MetricsListener } from '../../common/metrics-listener';
import { createCommandCounter } from './command-counter';
import { openEncryption, type EncryptionOptions } from './encryption';
import type { FieldCipher } from './encryption/field-cipher';
import type { TenantKeyStore } from './encryption/key-store';
import type { EncryptedCollection } from './encryption/reencrypt';
import { createSubgraphMetrics } from './metrics';
import { traceMongoCommands, traceSubgraphRequests } from './tracing';
import { openDatabase, registerModels, type DatabaseTimeouts } from './database';
import { SERVICE_UNAVAILABLE, isDatabaseUnavailable, serviceUnavailable } from './deadline';
import { isClientErrorCode } from './errors';
import { internalAuth, verifiedRequest } from './internal-auth';
import type { PlatformHooks } from './platform/api';
import { platformRoutes } from './platform/routes';
import { DEFAULT_LOADER_OPTIONS, type ConnectionLoaderMode, type LoaderOptions } from './loaders';
import { protectSchema, type PermissionRules } from './permissions';
import { DEFAULT_MAX_SILOS, POOLED_PLACEMENT, StalePlacementError, createPlacements } from './placement';
import type { RequestScope } from './scope';

/** What every resolver and rule of a subgraph receives. */
export interface SubgraphContext<TModels, TLoaders> {
  readonly requestId: string;
  readonly logger: Logger;
  /**
   * The verified caller. Null only for the gateway's `svc` requests, which the middleware limits to `_service` and
   * `__typename`; the permission rules keep every other field from running without a caller.
   */
  readonly scope: RequestScope | null;
  readonly models: TModels;
  /** Created for this request only: their caches hold one tenant's documents. */
  readonly loaders: TLoaders;
  /** Seals and opens the encrypted fields (kit/encryption); the subgraph's one instance, not per request. */
  readonly cipher: FieldCipher;
}

export type SubgraphResolverMap = Readonly<Record<string, object | undefined>>;

export interface SubgraphDefinition<TModels, TLoaders> {
  readonly name: SubgraphName;
  readonly typeDefs: DocumentNode;
  /**
   * Typed per subgraph with its generated `Resolvers` (codegen.yml). Apollo's `GraphQLResolverMap` cannot express
   * `__resolveReference(reference, context, info)`, so the kit only requires a map of type names to resolvers.
   */
  readonly resolvers: SubgraphResolverMap;
  /** Compiles the subgraph's models on its own connection. Every model must use `tenantPlugin`. */
  models(connection: Connection): TModels;
  /**
   * The per-request loaders. They take no tenant: the tenant plugin reads it from the request scope when their
   * queries run, so a loader cannot be pointed at another tenant by mistake.
   */
  createLoaders(models: TModels, options: LoaderOptions): TLoaders;
  /** A rule for every field of every object type (see kit/permissions.ts); a missing one fails startup. */
  readonly permissions: PermissionRules;
  /** The collections and fields this subgraph seals (kit/encryption/reencrypt.ts); none when absent. */
  readonly encrypted?: readonly EncryptedCollection[];
  /** What this subgraph adds to the platform API (kit/platform/api.ts): provisioning, sweepable collections. */
  readonly platform?: PlatformHooks<TModels>;
}

export interface SubgraphOptions {
  /** Interface to listen on; 127.0.0.1 by default. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  mongoUri: string;
  dbName: string;
  /** This subgraph's key derived from the gateway's internal secret (deriveSubgraphKey), at least 32 bytes. */
  internalKey: Buffer;
  logger?: Logger;
  /** Emit the driver's command events on `connection.getClient()` (tests count queries with them). */
  monitorCommands?: boolean;
  /** The listener's timeouts; DEFAULT_HTTP_SERVER_TIMEOUTS when absent. */
  http?: HttpServerTimeouts;
  /** The driver's timeouts (kit/database.ts); DEFAULT_DATABASE_TIMEOUTS when absent. */
  database?: DatabaseTimeouts;
  /** The longest any request may take, and the deadline of one whose token names none (kit/deadline.ts). */
  maxRequestDeadlineMs?: number;
  /** How connection fields read their pages (kit/loaders.ts); `batched` when absent. */
  connectionLoader?: ConnectionLoaderMode;
  /**
   * Counts the database commands this subgraph sends and serves the count at `GET /_bench/commands`, to loopback
   * callers only (kit/command-counter.ts). For the bench; off by default.
   */
  countCommands?: boolean;
  /**
   * `verify` (subgraphs/run.ts) checks the indexes exist and refuses to start naming `tollgate migrate`; `create`
   * (the default: tests) syncs them (common/indexes.ts).
   */
  indexes?: IndexMode;
  /** Shutdown (common/shutdown.ts): the delay `shutdown()` serves unready for, and the drain's grace period. */
  shutdown?: ShutdownConfig;
  /** Serve Prometheus metrics on a listener of their own (kit/metrics.ts); absent, none are kept. */
  metrics?: { host: string; port: number };
  /**
   * Tracing, registered by the process (common/tracing/setup.ts): a server span per request that carries the
   * gateway's trace context, MongoDB command spans below it (kit/tracing.ts). Absent, no span is made.
   */
  tracer?: Tracer;
  /** How many silo databases keep their models compiled (kit/placement.ts); DEFAULT_MAX_SILOS when absent. */
  maxSilos?: number;
  /**
   * Encryption of personal fields at rest (kit/encryption): a key provider (and key cache bounds), or `'off'`.
   * subgraphs/run.ts always passes one from ENCRYPTION_* (on by default); absent means off.
   */
  encryption?: EncryptionOptions;
}

export interface RunningSubgraph {
  /** `http://host:port/graphql`. */
  url: string;
  port: number;
  /** The subgraph's own connection; tests use it to count commands and to drop their database. */
  connection: Connection;
  /** Where Prometheus scrapes this subgraph, when `metrics` was given. */
  metricsUrl?: string;
  /** The field cipher the resolvers use. */
  cipher: FieldCipher;
  /** The tenant key store in this subgraph's database; absent when encryption is off. */
  keyStore?: TenantKeyStore;
  /** Stops accepting requests, lets running ones finish, then closes the database connection. */
  stop(): Promise<void>;
  /** What SIGTERM does: /readyz fails at once, the subgraph serves for the shutdown delay, then `stop`. */
  shutdown(): Promise<void>;
}

const BODY_LIMIT = '1mb';

function errorBody(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

/**
 * Known client errors keep their message; a database that is unreachable or too slow becomes SERVICE_UNAVAILABLE
 * (whatever driver error a resolver let through); everything else becomes one opaque internal error.
 */
export function maskError(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
  const code = isDatabaseUnavailable(unwrapResolverError(error)) ? SERVICE_UNAVAILABLE : formatted.extensions?.code;
  const location = {
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
  };
  if (code === SERVICE_UNAVAILABLE) return { message: serviceUnavailable().message, ...location, extensions: { code } };
  if (isClientErrorCode(code)) return { message: formatted.message, ...location, extensions: { code } };
  return { message: 'Internal error', ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/**
 * Logs every error with the request id and tenant (the context's logger carries both). Unexpected errors are
 * logged in full, since the client only sees "Internal error"; FORBIDDEN means a request passed the gateway's gate
 * and was stopped here, which deserves attention; other client errors are routine.
 */
function errorLog<TContext extends SubgraphContext<unknown, unknown>>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          for (const error of errors) {
            const code = error.extensions.code;
            if (code === 'FORBIDDEN') {
              contextValue.logger.info('refused by a permission rule', { code, graphqlPath: error.path });
            } else if (code === SERVICE_UNAVAILABLE || isDatabaseUnavailable(unwrapResolverError(error))) {
              // The cause (a driver error, or the deadline) without the driver's text, which names hosts.
              const original = unwrapResolverError(error);
              contextValue.logger.error('database unavailable', {
                graphqlPath: error.path,
                cause: original instanceof Error ? original.name : code,
              });
            } else if (isClientErrorCode(code)) {
              contextValue.logger.debug('client error', { code, graphqlPath: error.path });
            } else {
              const original = unwrapResolverError(error);
              contextValue.logger.error('internal error', {
                graphqlPath: error.path,
                error: original,
                stack: original instanceof Error ? original.stack : undefined,
              });
            }
          }
        },
      };
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startSubgraph<TModels, TLoaders>(
  definition: SubgraphDefinition<TModels, TLoaders>,
  options: SubgraphOptions,
): Promise<RunningSubgraph> {
  type Context = SubgraphContext<TModels, TLoaders>;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    throw new Error('port must be 0–65535');
  if (options.internalKey.length < 32) throw new Error('the internal key must be at least 32 bytes');
  const logger = options.logger ?? createLogger({ base: { service: definition.name } });

  const connection = await openDatabase({
    mongoUri: options.mongoUri,
    dbName: options.dbName,
    monitorCommands:
      options.monitorCommands === true ||
      options.countCommands === true ||
      options.metrics !== undefined ||
      options.tracer !== undefined,
    timeouts: options.database,
  });
  let apollo: ApolloServer<Context> | undefined;
  let metricsListener: MetricsListener | undefined;
  try {
    const models = await registerModels(connection, (c) => definition.models(c), options.indexes ?? 'create');
    const placements = createPlacements({
      connection,
      pooled: models,
      build: (c) => definition.models(c),
      indexes: options.indexes ?? 'create',
      maxSilos: options.maxSilos ?? DEFAULT_MAX_SILOS,
    });
    // The models each verified request is served by: its tenant's placement (pooled or silo), set by `place`.
    const placed = new WeakMap<express.Request, TModels>();
    const { cipher, keyStore } = openEncryption(connection, options.encryption ?? 'off');
    // The generated resolver types checked the map against the schema; this is the same map under Apollo's type.
    const resolvers = definition.resolvers as GraphQLResolverMap<unknown>;
    const schema = protectSchema(
      buildSubgraphSchema({ typeDefs: definition.typeDefs, resolvers }),
      definition.permissions,
    );
    const httpServer = createHttpServer(options.http ?? DEFAULT_HTTP_SERVER_TIMEOUTS);
    const server = new ApolloServer<Context>({
      schema,
      introspection: false,
      includeStacktraceInErrorResponses: false,
      hideSchemaDetailsFromClientErrors: true,
      persistedQueries: false,
      // Stopping is the caller's (subgraphs/run.ts on SIGTERM, `stop()` here): Apollo's own handler would race it.
      stopOnTerminationSignals: false,
      formatError: (formatted, error) => maskError(formatted, error),
      plugins: [
        ApolloServerPluginDrainHttpServer({
          httpServer,
          stopGracePeriodMillis: (options.shutdown ?? DEFAULT_SHUTDOWN).graceMs,
        }),
        ApolloServerPluginLandingPageDisabled(),
        // Traces would carry error details and timings to whoever asks for them with a header.
        ApolloServerPluginInlineTraceDisabled(),
        ApolloServerPluginUsageReportingDisabled(),
        ApolloServerPluginSchemaReportingDisabled(),
        errorLog<Context>(),
      ],
    });
    // Kept for the cleanup below should a later step fail.
    apollo = server;
    await server.start();

    const auth = internalAuth({
      key: options.internalKey,
      audience: definition.name,
      logger,
      maxDeadlineMs: options.maxRequestDeadlineMs,
    });
    const requireJson: RequestHandler = (req, res, next) => {
      if (req.is('application/json')) return next();
      res.status(415).json(errorBody('Unsupported media type', 'UNSUPPORTED_MEDIA_TYPE'));
    };
    const bodyErrors: ErrorRequestHandler = (error: { type?: unknown; status?: unknown }, _req, res, next) => {
      if (res.headersSent) return next(error);
      if (error.type === 'entity.too.large')
        return void res.status(413).json(errorBody('Payload too large', 'PAYLOAD_TOO_LARGE'));
      if (error.status === 400 || error.type === 'entity.parse.failed')
        return void res.status(400).json(errorBody('Malformed request body', 'BAD_REQUEST'));
      if (error.status === 415)
        return void res.status(415).json(errorBody('Unsupported media type', 'UNSUPPORTED_MEDIA_TYPE'));
      logger.error('request failed', { error });
      res.status(500).json(errorBody('Internal error', 'INTERNAL_SERVER_ERROR'));
    };

    const metrics = options.metrics ? createSubgraphMetrics(definition.name) : undefined;
    metrics?.watch(connection);
    if (options.tracer) traceMongoCommands(options.tracer, connection);
    const loaderOptions: LoaderOptions = {
      ...DEFAULT_LOADER_OPTIONS,
      ...(options.connectionLoader ? { connectionLoader: options.connectionLoader } : {}),
      ...(metrics ? { onBatch: metrics.batches } : {}),
    };
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await server.stop();
        await metricsListener?.close();
        await connection.close();
      })();
      return stopping;
    };
    const shutdown = createShutdown({ delayMs: (options.shutdown ?? DEFAULT_SHUTDOWN).delayMs, stop });
    /**
     * After the token: picks the models of the tenant's placement, and refuses a placement older than one already
     * served here (a gateway replica behind a `tenant move` switch) or one whose database cannot be reached — both
     * 503, which the gateway answers as SERVICE_UNAVAILABLE, with nothing run.
     */
    const place: RequestHandler = (req, res, next) => {
      const verified = verifiedRequest(req);
      if (verified?.kind !== 'op') return next();
      const { tenantId, placement = POOLED_PLACEMENT } = verified.scope;
      try {
        placements.admit(tenantId, placement);
      } catch (error) {
        if (!(error instanceof StalePlacementError)) throw error;
        logger.warn('stale tenant placement refused', { requestId: verified.requestId, tenant: tenantId });
        return void res.status(503).json(errorBody(serviceUnavailable().message, SERVICE_UNAVAILABLE));
      }
      // The continuation runs in the request's tenant scope: AsyncLocalStorage follows the promise.
      placements.modelsFor(tenantId, placement).then(
        (placedModels) => {
          placed.set(req, placedModels);
          next();
        },
        (error: unknown) => {
          logger.warn('tenant placement unavailable', {
            requestId: verified.requestId,
            tenant: tenantId,
            cause: error instanceof Error ? error.name : 'unknown',
          });
          res.status(503).json(errorBody(serviceUnavailable().message, SERVICE_UNAVAILABLE));
        },
      );
    };
    const app = express();
    app.disable('x-powered-by');
    app.use(shutdown.closeConnectionsWhileDraining);
    if (metrics) app.use(metrics.requests);
    if (options.countCommands) app.get('/_bench/commands', createCommandCounter(connection).handler);
    // For orchestrators (compose, Kubernetes probes): the process serves and its MongoDB connection is up. Says
    // nothing else — no version, no database name — and needs no token.
    app.get('/healthz', (_req, res) => {
      const up = connection.readyState === 1;
      res.status(up ? 200 : 503).json({ status: up ? 'ok' : 'unavailable' });
    });
    // Readiness: as /healthz, and not shutting down — so a load balancer stops sending before the listener closes.
    app.get('/readyz', (_req, res) => {
      const ready = connection.readyState === 1 && !shutdown.draining();
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
    });
    app.post(
      '/graphql',
      ...(options.tracer ? [traceSubgraphRequests(options.tracer, definition.name)] : []),
      auth.requireToken,
      requireJson,
      express.json({ limit: BODY_LIMIT }),
      auth.verify,
      place,
      graphqlHandler(server, async ({ req }): Promise<Context> => {
        const verified = verifiedRequest(req);
        // Unreachable: the auth middleware ends every request it does not verify.
        if (!verified) throw new Error('request reached Apollo Server unverified');
        const scope = verified.kind === 'op' ? verified.scope : null;
        return {
          requestId: verified.requestId,
          logger: logger.child({ requestId: verified.requestId, ...(scope ? { tenant: scope.tenantId } : {}) }),
          scope,
          models: placed.get(req) ?? models,
          loaders: definition.createLoaders(placed.get(req) ?? models, loaderOptions),
          cipher,
        };
      }),
    );
    // The operator's routes: tenant keys and the platform API (kit/platform/routes.ts).
    app.use(
      platformRoutes({
        subgraph: definition.name,
        internalKey: options.internalKey,
        connection,
        placements,
        cipher,
        logger,
        ...(keyStore ? { keyStore } : {}),
        ...(definition.platform ? { hooks: definition.platform } : {}),
        ...(definition.encrypted ? { encrypted: definition.encrypted } : {}),
        ...(metrics ? { onDocuments: metrics.platformDocuments } : {}),
      }),
    );
    app.all('/graphql', (_req, res) => {
      res.set('allow', 'POST').status(405).json(errorBody('Method not allowed', 'METHOD_NOT_ALLOWED'));
    });
    app.use((_req, res) => {
      res.status(404).json(errorBody('Not found', 'NOT_FOUND'));
    });
    app.use(bodyErrors);
    httpServer.on('request', app);

    if (metrics && options.metrics)
      metricsListener = await startMetricsListener({ registry: metrics.registry, ...options.metrics });
    const port = await listen(httpServer, options.port, host);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/graphql`;
    return {
      url,
      port,
      connection,
      cipher,
      ...(keyStore ? { keyStore } : {}),
      stop,
      shutdown: shutdown.shutdown,
      ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
    };
  } catch (error) {
    await apollo?.stop().catch(() => undefined);
    await metricsListener?.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    throw error;
  }
}
