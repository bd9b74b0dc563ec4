/**
 * Wires the gateway: Express in front (http.ts: request ids, the HTTP-level refusals, authentication), Apollo
 * Server with @apollo/gateway behind it, the subgraph data sources underneath.
 *
 * Every Apollo Server and gateway default that depends on NODE_ENV is set explicitly here, because the defaults
 * outside production leak (stack traces, introspection, query plans on request) and a staging deployment
 * without NODE_ENV=production is still reachable by tenants.
 */
import type { ServiceEndpointDefinition } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import { DEFAULT_HTTP_SERVER_TIMEOUTS, createHttpServer } from '../../common/http-server-timeouts';
import { loadInternalSecret } from './internal-secret';
import { deriveSubgraphKey } from '../../common/internal-token';
import { createLogger } from '../../common/logger';
import { isSubgraphName } from '../../subgraphs/catalog';
import {
  DEFAULT_SUPERGRAPH_RELOAD,
  DEFAULT_AUTH_FAILURES,
  DEFAULT_APQ_REDIS_TIMEOUT_MS,
  DEFAULT_BUDGET_REDIS_TIMEOUT_MS,
  DEFAULT_CACHE_BYTES,
  DEFAULT_INPUT_BOUNDS,
  DEFAULT_SHUTDOWN,
  DEFAULT_SUBGRAPH_BREAKER,
  type GatewayConfig,
} from './config';
import { createDocumentStore } from './document-store';
import { ErrorCode, gatewayError } from './errors';
import { toApolloLogger } from './apollo-logger';
import { listen, urlHost } from './listen';
import { graphqlRoute } from './http/graphql-route';
import { createResources } from './resources';
import { corsPreflight } from './http/cors';
import { corsHeaderLists } from './http/cors-headers';
import { createReadinessCheck, livenessHandler, readinessHandler } from './health';
import { createShutdown } from '../../common/shutdown';
import { DEFAULT_SUBGRAPH_HEALTH_INTERVAL_MS, createSubgraphHealthMonitor } from './upstream/subgraph-health';
import {
  authenticateRequests,
  formatForClient,
  handleErrors,
  noStore,
  notFound,
  observeAll,
  refuseCredentialsInUrl,
  trackRequests,
} from './http/guards';
import { startIdentity } from './identity';
import { createFailureLimiter } from './credentials/failure-limiter';
import { introspectionRule, ruleTree } from './authz/rules';
import { loadOrBuildExplorer } from './explorer/bundle';
import { createIntrospectionPlugin } from './explorer/introspection';
import { explorerRoutes } from './explorer/routes';
import { createBudget } from './budget/budget';
import { createBudgetRedis } from './budget/redis';
import { createPipelinePlugin } from './pipeline';
import type { GatewayContext } from './request';
import { createMetering, DEFAULT_METERING } from './metering';
import { createPlatformGraph, PLATFORM_SUBGRAPH } from './platform-graph';
import type { StartedGateway, StartGatewayOptions } from './server-types';
import { entitiesFetchThrough } from './references/check';
import { NO_REFERENCES, TOLLGATE_REFERENCES } from './references/declarations';
import { listPersistedOperations } from './http/persisted-list';
import { createApqStore } from './persisted/apq';
import { parseOptionsForPlans } from './pipeline/limits';
import { DEFAULT_PLANS } from './tenants/plan';
import { withCompletionErrors } from './upstream/completion-errors';
import { createSubgraphBreakers } from './upstream/circuit-breaker';
import { SubgraphDataSource } from './upstream/data-source';
import { subgraphDeadlineMs } from './upstream/deadline';
import { createSubgraphHttp, type SubgraphAnswer } from './upstream/fetcher';
import { createSubgraphDedupe, DEFAULT_DEDUPE_LIMITS } from './upstream/dedupe';
import { mapPlannerLimitErrors } from './upstream/planner-errors';
import { MAX_VALIDATION_ERRORS } from './http/abandoned-work';
import { startMetricsListener } from '../../common/metrics-listener';
import { createGatewayMetrics, type GatewayMetrics } from './metrics/gateway-metrics';
import { serveSupergraph, type ServedSupergraph } from './supergraph/served';
import type { SchemaBundle } from './supergraph/bundle';
import { auditEventsResolver } from './audit/graphql';
import { startAudit } from './audit/start';

/** Readiness must answer faster than a load balancer's probe timeout, whatever the operation timeout is. */
const MAX_HEALTH_CHECK_TIMEOUT_MS = 2_000;

export type { StartedGateway, StartGatewayOptions } from './server-types';

export async function startGateway(config: GatewayConfig, options: StartGatewayOptions = {}): Promise<StartedGateway> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, base: { service: 'gateway' } });
  const tracing = options.tracing && { tracer: options.tracing.tracer, incoming: options.tracing.settings.incoming };
  const internalSecret = loadInternalSecret(config);
  // Every per-document cache is bounded by the bytes it holds (cache.ts): a flood of distinct documents cannot
  // grow the heap past these, whatever the documents are. The gate's, the estimator's and the query plans' belong to
  // one supergraph version each (supergraph/bundle.ts).
  const cacheBytes = config.cacheBytes ?? DEFAULT_CACHE_BYTES;
  // What every supergraph, the first and each hot-swapped one, must fit (supergraph/validate.ts).
  const policy = {
    authorization: options.authorization ?? { rules: ruleTree, introspectionRule },
    references: options.references ?? (options.authorization ? NO_REFERENCES : TOLLGATE_REFERENCES),
    subgraphConfigured: (name: string) =>
      name === PLATFORM_SUBGRAPH || (isSubgraphName(name) && Boolean(config.subgraphUrls[name])),
    analysisCacheBytes: cacheBytes.authorization,
  };
  const documents = createDocumentStore({ maxBytes: cacheBytes.documents });
  // Filled by buildService below: the reference check asks owners through the same data sources as plans do.
  const operationSources = new Map<string, SubgraphDataSource>();
  const explorerManifest = config.explorerEnabled ? await loadOrBuildExplorer() : undefined;

  // Every resource opened from here on registers its close; start failures and stop close them all, in reverse.
  const resources = createResources();
  // Set once the supergraph is served (below): an announced publish makes it look at the control plane at once.
  let served: ServedSupergraph | undefined;
  const identity = resources.add(
    await startIdentity(config, logger, {
      onControlPlaneCommand: options.onControlPlaneCommand,
      onChange: (change) => (change.kind === 'supergraph' ? served?.announced() : undefined),
      onResync: () => served?.announced(),
    }),
    (i) => i.close(),
  );
  // Closed after the HTTP server drained (resources close in reverse): in-flight requests' events are flushed too.
  const audit = await startAudit(config, { internalSecret, directory: identity.directory, logger, resources });
  const authFailures = config.authFailures ?? DEFAULT_AUTH_FAILURES;
  const limiterFor = (maxFailures: number) =>
    createFailureLimiter({
      maxFailures,
      windowMs: authFailures.windowMs,
      blockMs: authFailures.holdMs,
      maxEntries: authFailures.trackedClients,
    });
  const failureLimits = {
    addresses: limiterFor(authFailures.maxPerAddress),
    apiKeys: limiterFor(authFailures.maxPerApiKey),
  };
  const authenticate = authenticateRequests(identity.authenticate, logger, failureLimits);
  const budgetRedis = resources.add(
    createBudgetRedis(config.redisUrl, {
      commandTimeoutMs: config.budgetRedisTimeoutMs ?? DEFAULT_BUDGET_REDIS_TIMEOUT_MS,
    }),
    (redis) => redis.disconnect(),
  );
  const budget = resources.add(
    createBudget({
      redis: budgetRedis,
      failMode: config.budgetFailMode,
      logger: logger.child({ component: 'budget' }),
    }),
    (b) => b.close(),
  );
  // Usage metering and the monthly quota (metering/index.ts) on the budget's short-timeout client.
  const metering = resources.add(
    createMetering({
      settings: config.metering ?? DEFAULT_METERING,
      redis: budgetRedis,
      store: identity.usage,
      tenantIds: () => identity.tenantIds(),
      directory: identity.directory,
      controlDbName: config.controlPlane.dbName,
      logger: logger.child({ component: 'metering' }),
    }),
    (m) => m.close(),
  );
  // The gateway-owned subgraph (platform-graph/): answered in-process, so no URL, breaker, health check or metrics.
  const platformGraph = createPlatformGraph({
    usage: metering.reader,
    // The gateway hands every data source the request context: the resolver reads it as a GatewayContext.
    extraResolvers: { Query: { auditEvents: auditEventsResolver(audit?.reader) as never } },
  });
  const apq = resources.add(
    createApqStore({
      redisUrl: config.redisUrl,
      logger: logger.child({ component: 'apq' }),
      commandTimeoutMs: config.apqRedisTimeoutMs ?? DEFAULT_APQ_REDIS_TIMEOUT_MS,
    }),
    (store) => store.close(),
  );

  const subgraphHttp = resources.add(createSubgraphHttp(), (http) => http.close());
  const postOperation = subgraphHttp.posterWithTimeout({ timeoutMs: config.subgraphTimeoutMs });
  const healthCheckTimeoutMs = Math.min(config.subgraphTimeoutMs, MAX_HEALTH_CHECK_TIMEOUT_MS);
  const postHealthCheck = subgraphHttp.posterWithTimeout({ timeoutMs: healthCheckTimeoutMs });
  const healthSources = new Map<string, SubgraphDataSource>();
  // Operations only: health checks bypass the breakers (upstream/data-source.ts says why).
  const breakers = createSubgraphBreakers({ ...(config.subgraphBreaker ?? DEFAULT_SUBGRAPH_BREAKER), logger });
  // One in-flight map for every subgraph (its keys name the subgraph): SUBGRAPH_DEDUPLICATION, upstream/dedupe.ts.
  const dedupe =
    (config.subgraphDeduplication ?? 'queries') === 'queries'
      ? { flights: createSubgraphDedupe<SubgraphAnswer>(DEFAULT_DEDUPE_LIMITS), waitMs: config.subgraphTimeoutMs }
      : undefined;
  const caches = () => [documents.stats(), ...(served?.versioned.current().caches() ?? [])];
  // Metrics (METRICS_PORT): recorded once per request by the request log, and read from these at each scrape.
  const metrics: GatewayMetrics | undefined = config.metrics
    ? createGatewayMetrics({
        maxTenants: config.metrics.maxTenants,
        supergraphId: () => served?.reloader.currentId() ?? '',
        caches,
        budget: () => budget.stats(),
        breakerStates: () => breakers.states(),
        usage: () => metering.stats(),
        ...(audit ? { audit: () => audit.writer.stats() } : {}),
      })
    : undefined;

  // The URL in the supergraph is what composition was given; where a subgraph runs is deployment configuration.
  const buildService = ({ name }: ServiceEndpointDefinition) => {
    if (name === PLATFORM_SUBGRAPH) return platformGraph;
    if (!isSubgraphName(name)) throw new Error(`the supergraph names subgraph "${name}", which has no configured URL`);
    const key = deriveSubgraphKey(internalSecret, name);
    const common = { name, url: config.subgraphUrls[name], key, logger, tracer: tracing?.tracer };
    healthSources.set(
      name,
      new SubgraphDataSource({
        ...common,
        post: postHealthCheck,
        deadlineMs: subgraphDeadlineMs(healthCheckTimeoutMs),
      }),
    );
    const operationSource = new SubgraphDataSource({
      ...common,
      post: postOperation,
      deadlineMs: subgraphDeadlineMs(config.subgraphTimeoutMs),
      breaker: breakers.of(name),
      dedupe,
      ...(metrics ? { fetchMetrics: metrics.fetches } : {}),
    });
    operationSources.set(name, operationSource);
    return operationSource;
  };

  // @apollo/gateway otherwise exports host metrics to Apollo's servers from every instance; an operator who wants
  // that sets APOLLO_TELEMETRY_DISABLED=false explicitly.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const apolloLogger = toApolloLogger(logger);
  // The first supergraph (the control plane's published one, else SUPERGRAPH_URL's, else SUPERGRAPH_PATH's),
  // checked like every later one; the sources then watch for the next (supergraph/source.ts).
  try {
    served = resources.add(
      await serveSupergraph({
        path: config.supergraphPath,
        reload: config.supergraphReload ?? DEFAULT_SUPERGRAPH_RELOAD,
        supergraphs: identity.supergraphs,
        policy,
        bundle: {
          budget,
          logger,
          cacheBytes,
          fetchEntities: entitiesFetchThrough((name) => operationSources.get(name)),
          ...(metering.quotaStage ? { quotaStage: metering.quotaStage } : {}),
          ...(audit ? { auditStage: audit.stage } : {}),
        },
        gatewayBase: { buildService, logger: apolloLogger },
        logger,
        onReload: (result) => metrics?.supergraphReloaded(result),
      }),
      (s) => s.close(),
    );
  } catch (error) {
    await resources.close();
    throw error;
  }
  const { versioned } = served;
  const bundleOf = (schema: GraphQLSchema): SchemaBundle => {
    const bundle = versioned.bundleOf(schema);
    if (!bundle) throw gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.');
    return bundle;
  };

  const inputBounds = config.inputBounds ?? DEFAULT_INPUT_BOUNDS;
  const app = express();
  const httpServer = createHttpServer(config.httpServer ?? DEFAULT_HTTP_SERVER_TIMEOUTS, app);
  const server = new ApolloServer<GatewayContext>({
    gateway: withCompletionErrors(mapPlannerLimitErrors(versioned.gateway), {
      logger: logger.child({ component: 'gateway' }),
    }),
    logger: apolloLogger,
    // Apollo's switch is all or nothing; the introspection stage admits developers only and the introspection
    // plugin answers from the caller's visible schema.
    introspection: true,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: true,
    csrfPrevention: true,
    // Apollo's APQ would let any client register any query: persisted operations are resolved before Apollo Server
    // by pipeline/persisted.ts, and a body that still names one is refused here (PERSISTED_QUERY_NOT_SUPPORTED).
    persistedQueries: false,
    allowBatchedHttpRequests: false,
    // `status400ForVariableCoercionErrors` is not set: 400 is Apollo Server 5's only behaviour, and setting the
    // option makes it log a deprecation warning at every start.
    stopOnTerminationSignals: false,
    formatError: formatForClient,
    // graphql-js's default, stated: input/abandoned-work.ts tells the client this number when validation stops.
    validationOptions: { maxErrors: MAX_VALIDATION_ERRORS },
    // A plan's token limit is checked before parsing (input/document-bounds.ts) and again by its stage; the
    // parser's cap only stops a huge document from being parsed at all, so it is the largest plan's limit.
    parseOptions: parseOptionsForPlans(DEFAULT_PLANS),
    documentStore: documents.store,
    plugins: [
      documents.plugin,
      createPipelinePlugin((schema) => bundleOf(schema).stages, {
        tracer: tracing?.tracer,
        formatError: formatForClient,
      }),
      createIntrospectionPlugin((schema) => bundleOf(schema).visibleSchemas),
      // A tenant's answer is never cacheable by anyone else (http.ts, noStore): no cache policy to compute.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      // In-flight requests get the grace period to finish; then their connections are closed.
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: (config.shutdown ?? DEFAULT_SHUTDOWN).graceMs,
      }),
    ],
  });

  try {
    await server.start();
  } catch (error) {
    await resources.close();
    throw error;
  }
  // Last opened, first closed: the drain plugin closes the HTTP server and lets in-flight requests finish before
  // the subgraph sockets, the budget, the APQ store and the control plane go.
  resources.add(server, (apollo) => apollo.stop());
  served.started();

  const subgraphHealth = createSubgraphHealthMonitor({
    subgraphs: () => [...healthSources.keys()],
    probe: async (name) => {
      const dataSource = healthSources.get(name);
      if (!dataSource) throw new Error(`unknown subgraph ${name}`);
      const [result] = await versioned.front.serviceHealthCheck({ [name]: { dataSource } });
      if (result?.response.errors?.length) throw new Error(`${name} answered the health check with errors`);
    },
    breakerStates: () => breakers.states(),
    logger,
    intervalMs: options.subgraphHealthIntervalMs ?? DEFAULT_SUBGRAPH_HEALTH_INTERVAL_MS,
  });
  resources.add(subgraphHealth, (monitor) => monitor.stop());
  const shutdown = createShutdown({
    delayMs: (config.shutdown ?? DEFAULT_SHUTDOWN).delayMs,
    stop: () => resources.close(),
    logger,
  });
  const readiness = createReadinessCheck({
    supergraphLoaded: () => versioned.loaded(),
    draining: shutdown.draining,
    pingControlPlane: () => identity.pingControlPlane(MAX_HEALTH_CHECK_TIMEOUT_MS),
    directoryWarm: () => identity.directory.warm(),
  });

  app.disable('x-powered-by');
  // An ETag is a hash of every response body, for conditional GETs that POST /graphql never gets.
  app.set('etag', false);
  app.use(trackRequests(logger, observeAll(metrics, metering.observer, audit?.observer)));
  app.use(shutdown.closeConnectionsWhileDraining);
  app.get('/healthz', livenessHandler());
  app.get(
    '/readyz',
    // Draining is expected and says so once (common/shutdown.ts); anything else is the operator's to look at.
    readinessHandler(readiness, ({ reason }) =>
      reason === 'draining' ? logger.debug('not ready', { reason }) : logger.warn('not ready', { reason }),
    ),
  );
  // The explorer (when on) with its developer-only estimate and plan, and /schema.graphql: explorer/routes.ts. Each
  // request takes the supergraph version served at that moment.
  app.use(
    explorerRoutes({
      manifest: explorerManifest,
      served: () => versioned.current(),
      authenticate,
      maxBodyBytes: config.maxBodyBytes,
      inputBounds,
    }),
  );
  // A partner's own list of the operations its key may run (http/persisted-list.ts); API keys only, never cached.
  app.get(
    '/persisted-operations',
    noStore,
    refuseCredentialsInUrl,
    authenticate,
    listPersistedOperations({ manifests: identity.manifests, logger: logger.child({ component: 'persisted' }) }),
  );
  const corsLists = corsHeaderLists(config.cors);
  app.options('/graphql', corsPreflight(identity.directory, logger, corsLists));
  app.all(
    '/graphql',
    ...graphqlRoute({
      server,
      authenticate,
      afterAuthenticationForTests: options.afterAuthenticationForTests,
      directory: identity.directory,
      corsLists,
      maxBodyBytes: config.maxBodyBytes,
      inputBounds,
      manifests: identity.manifests,
      apq,
      logger,
      tracing,
    }),
  );
  app.use(notFound);
  app.use(handleErrors(logger, config.maxBodyBytes));

  let port: number;
  let metricsUrl: string | undefined;
  try {
    if (metrics && config.metrics) {
      const listener = resources.add(
        await startMetricsListener({
          registry: metrics.registry,
          host: config.metrics.host,
          port: config.metrics.port,
        }),
        (l) => l.close(),
      );
      metricsUrl = listener.url;
    }
    port = await listen(httpServer, config.host, config.port);
  } catch (error) {
    await resources.close();
    throw error;
  }

  return {
    url: `http://${urlHost(config.host)}:${port}`,
    port,
    caches,
    ...(metricsUrl ? { metricsUrl } : {}),
    subgraphBreakerStates: () => breakers.states(),
    rollupUsage: () => metering.rollupNow(),
    subgraphHealth: () => subgraphHealth.check(),
    stop: () => resources.close(),
    shutdown: () => shutdown.shutdown(),
  };
}
