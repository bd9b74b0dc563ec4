import { resolve } from 'node:path';
import { DEFAULT_AUDIT_SPOOL_PATH, DEFAULT_SUPERGRAPH_PATH, GatewayConfigError, loadGatewayConfig } from './config';

const SECRET = 'ab'.repeat(32);

const PRODUCTION = {
  NODE_ENV: 'production',
  TOLLGATE_INTERNAL_SECRET: SECRET,
  TRUSTED_ISSUERS_FILE: '/etc/tollgate/issuers.json',
  MONGODB_URI: 'mongodb://user:pass@mongo-1:27017,mongo-2:27017/?replicaSet=rs0',
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadGatewayConfig', () => {
  it('polls SUPERGRAPH_URL with its interval, jitter and timeout, and refuses what is not an http(s) URL', () => {
    expect(
      loadGatewayConfig({
        SUPERGRAPH_URL: 'https://cdn.example.test/supergraph.graphql',
        SUPERGRAPH_POLL_INTERVAL_MS: '30000',
        SUPERGRAPH_POLL_JITTER_MS: '5000',
        SUPERGRAPH_FETCH_TIMEOUT_MS: '2000',
        SUPERGRAPH_FILE_POLL_MS: '0',
        SUPERGRAPH_CONTROL_PLANE_POLL_MS: '1000',
      }).supergraphReload,
    ).toEqual({
      url: 'https://cdn.example.test/supergraph.graphql',
      urlPollMs: 30_000,
      urlJitterMs: 5_000,
      urlTimeoutMs: 2_000,
      filePollMs: 0,
      controlPlanePollMs: 1_000,
    });
    expect(
      problemsOf({
        SUPERGRAPH_URL: 'file:///etc/passwd',
        SUPERGRAPH_POLL_INTERVAL_MS: '10',
        SUPERGRAPH_CONTROL_PLANE_POLL_MS: 'x',
      }),
    ).toEqual([
      'SUPERGRAPH_URL must be a http: or https: URL',
      'SUPERGRAPH_POLL_INTERVAL_MS must be an integer from 1000 to 3600000',
      'SUPERGRAPH_CONTROL_PLANE_POLL_MS must be an integer from 500 to 3600000',
    ]);
  });

  it('has development defaults for everything', () => {
    expect(loadGatewayConfig({})).toEqual({
      production: false,
      host: '127.0.0.1',
      port: 4000,
      logLevel: 'info',
      logFormat: 'auto',
      supergraphPath: DEFAULT_SUPERGRAPH_PATH,
      supergraphReload: {
        urlPollMs: 10_000,
        urlJitterMs: 2_000,
        urlTimeoutMs: 5_000,
        filePollMs: 2_000,
        controlPlanePollMs: 4_000,
      },
      subgraphUrls: {
        accounts: 'http://127.0.0.1:4001/graphql',
        products: 'http://127.0.0.1:4002/graphql',
        inventory: 'http://127.0.0.1:4003/graphql',
        reviews: 'http://127.0.0.1:4004/graphql',
      },
      subgraphTimeoutMs: 5000,
      subgraphBreaker: { failureThreshold: 5, coolDownMs: 10_000 },
      subgraphDeduplication: 'queries',
      maxBodyBytes: 1_048_576,
      internalSecret: { source: 'dev' },
      jwt: { trustedIssuersFile: undefined, trustDevIssuer: true },
      controlPlane: { mongoUri: 'mongodb://127.0.0.1:27017/', dbName: 'tollgate_control' },
      redisUrl: 'redis://127.0.0.1:6379',
      budgetFailMode: 'open',
      budgetRedisTimeoutMs: 100,
      apqRedisTimeoutMs: 100,
      explorerEnabled: true,
      inputBounds: { maxJsonDepth: 64, maxDocumentNesting: 128 },
      httpServer: {
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 65_000,
        maxRequestsPerSocket: 1_000,
        socketIdleTimeoutMs: 120_000,
      },
      cacheBytes: {
        documents: 16 * 1_048_576,
        queryPlans: 16 * 1_048_576,
        authorization: 16 * 1_048_576,
        cost: 8 * 1_048_576,
      },
      authFailures: { maxPerAddress: 100, maxPerApiKey: 10, windowMs: 60_000, holdMs: 60_000, trackedClients: 10_000 },
      apiKeyIndex: { refreshMs: 4_000, fullReloadMs: 300_000 },
      shutdown: { delayMs: 0, graceMs: 10_000 },
      metering: { enabled: true, rollupIntervalMs: 60_000, quotaFailMode: 'open', flushMs: 100 },
      audit: {
        signingKey: { source: 'dev' },
        spoolPath: DEFAULT_AUDIT_SPOOL_PATH,
        spoolMaxBytes: 64 * 1_048_576,
        overflow: 'plan',
        flushIntervalMs: 250,
        checkpointIntervalMs: 60_000,
        retentionIntervalMs: 21_600_000,
      },
    });
  });

  it('turns the audit trail off on request, and in production requires its signing key when it is on', () => {
    expect(loadGatewayConfig({ AUDIT_ENABLED: 'false' }).audit).toBeUndefined();
    expect(loadGatewayConfig({ AUDIT_SIGNING_KEY_FILE: 'k.pem', AUDIT_OVERFLOW: 'count' }).audit).toMatchObject({
      signingKey: { source: 'file', path: resolve('k.pem') },
      overflow: 'count',
    });
    const production = {
      NODE_ENV: 'production',
      TOLLGATE_INTERNAL_SECRET: 'ab'.repeat(32),
      TRUSTED_ISSUERS_FILE: 'issuers.json',
      MONGODB_URI: 'mongodb://db:27017/',
    };
    expect(loadGatewayConfig(production).audit).toBeUndefined();
    expect(problemsOf({ ...production, AUDIT_ENABLED: 'true' })).toContain(
      'AUDIT_SIGNING_KEY_FILE is required when NODE_ENV=production and AUDIT_ENABLED=true',
    );
    expect(problemsOf({ AUDIT_ENABLED: 'yes' })).toEqual(['AUDIT_ENABLED must be "true" or "false"']);
    expect(problemsOf({ AUDIT_OVERFLOW: 'drop', AUDIT_SPOOL_MAX_BYTES: '10' })).toEqual([
      'AUDIT_OVERFLOW must be "plan" or "count"',
      'AUDIT_SPOOL_MAX_BYTES must be an integer from 4096 to 68719476736',
    ]);
  });

  it('reads usage metering and the quota fail mode, and refuses values it does not know', () => {
    expect(
      loadGatewayConfig({
        USAGE_METERING: 'off',
        USAGE_ROLLUP_INTERVAL_MS: '5000',
        QUOTA_FAIL_MODE: 'closed',
        USAGE_FLUSH_MS: '0',
      }).metering,
    ).toEqual({ enabled: false, rollupIntervalMs: 5_000, quotaFailMode: 'closed', flushMs: 0 });
    expect(problemsOf({ USAGE_FLUSH_MS: '10001' })).toEqual(['USAGE_FLUSH_MS must be an integer from 0 to 10000']);
    expect(problemsOf({ USAGE_METERING: 'yes', QUOTA_FAIL_MODE: 'shut', USAGE_ROLLUP_INTERVAL_MS: '-1' })).toEqual(
      expect.arrayContaining(['USAGE_METERING must be "on" or "off"', 'QUOTA_FAIL_MODE must be "open" or "closed"']),
    );
    expect(problemsOf({ USAGE_ROLLUP_INTERVAL_MS: '-1' })).toHaveLength(1);
  });

  it("reads the deployment's CORS headers, and refuses a wildcard or a partner key header", () => {
    expect(loadGatewayConfig({ CORS_ALLOWED_HEADERS: 'X-Client-Build' }).cors).toEqual({
      extraAllowedHeaders: ['x-client-build'],
      extraExposedHeaders: [],
    });
    expect(loadGatewayConfig({ CORS_EXPOSED_HEADERS: 'x-served-by' }).cors).toEqual({
      extraAllowedHeaders: [],
      extraExposedHeaders: ['x-served-by'],
    });
    expect(problemsOf({ CORS_ALLOWED_HEADERS: '*, x-api-key', CORS_EXPOSED_HEADERS: 'a b' })).toEqual([
      'CORS_ALLOWED_HEADERS may not contain *',
      'CORS_ALLOWED_HEADERS may not contain x-api-key',
      'CORS_EXPOSED_HEADERS must be a comma-separated list of header names',
    ]);
  });

  it('reads the input bounds and refuses them outside their range', () => {
    expect(loadGatewayConfig({ MAX_JSON_DEPTH: '32', MAX_DOCUMENT_NESTING: '200' }).inputBounds).toEqual({
      maxJsonDepth: 32,
      maxDocumentNesting: 200,
    });
    expect(problemsOf({ MAX_JSON_DEPTH: '1', MAX_DOCUMENT_NESTING: '100000' })).toEqual([
      'MAX_JSON_DEPTH must be an integer from 2 to 1000',
      'MAX_DOCUMENT_NESTING must be an integer from 8 to 1000',
    ]);
  });

  it('reads the HTTP listener timeouts and refuses a request timeout below the headers timeout', () => {
    expect(
      loadGatewayConfig({
        HTTP_HEADERS_TIMEOUT_MS: '2000',
        HTTP_REQUEST_TIMEOUT_MS: '5000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '75000',
        HTTP_MAX_REQUESTS_PER_SOCKET: '0',
        HTTP_SOCKET_IDLE_TIMEOUT_MS: '0',
      }).httpServer,
    ).toEqual({
      headersTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      keepAliveTimeoutMs: 75_000,
      maxRequestsPerSocket: 0,
      socketIdleTimeoutMs: 0,
    });
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toEqual([
      'HTTP_REQUEST_TIMEOUT_MS must be at least HTTP_HEADERS_TIMEOUT_MS',
    ]);
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '0', HTTP_KEEP_ALIVE_TIMEOUT_MS: 'soon' })).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS must be an integer from 100 to 600000',
      'HTTP_KEEP_ALIVE_TIMEOUT_MS must be an integer from 1 to 3600000',
    ]);
  });

  it('reads the per-document cache bounds in MiB and refuses a bound of 0', () => {
    expect(loadGatewayConfig({ DOCUMENT_CACHE_MIB: '4', COST_CACHE_MIB: '2' }).cacheBytes).toMatchObject({
      documents: 4 * 1_048_576,
      cost: 2 * 1_048_576,
    });
    expect(() => loadGatewayConfig({ QUERY_PLAN_CACHE_MIB: '0' })).toThrow(
      'QUERY_PLAN_CACHE_MIB must be an integer from 1 to 4096',
    );
  });

  it('reads the failed-authentication limits and the API key index settings', () => {
    const config = loadGatewayConfig({
      AUTH_FAILURES_PER_ADDRESS: '5',
      AUTH_FAILURES_PER_API_KEY: '3',
      AUTH_FAILURE_WINDOW_MS: '10000',
      AUTH_FAILURE_HOLD_MS: '30000',
      AUTH_FAILURE_TRACKED_CLIENTS: '500',
      API_KEY_INDEX_REFRESH_MS: '1000',
      API_KEY_INDEX_FULL_RELOAD_MS: '60000',
    });
    expect(config.authFailures).toEqual({
      maxPerAddress: 5,
      maxPerApiKey: 3,
      windowMs: 10_000,
      holdMs: 30_000,
      trackedClients: 500,
    });
    expect(config.apiKeyIndex).toEqual({ refreshMs: 1_000, fullReloadMs: 60_000 });
    expect(problemsOf({ AUTH_FAILURES_PER_ADDRESS: '0', API_KEY_INDEX_REFRESH_MS: '100' })).toEqual([
      'AUTH_FAILURES_PER_ADDRESS must be an integer from 1 to 1000000',
      'API_KEY_INDEX_REFRESH_MS must be an integer from 500 to 60000',
    ]);
  });

  it('keeps metrics off unless METRICS_PORT is set, on loopback unless METRICS_HOST says otherwise', () => {
    expect(loadGatewayConfig({}).metrics).toBeUndefined();
    expect(loadGatewayConfig({ METRICS_PORT: '9464' }).metrics).toEqual({
      host: '127.0.0.1',
      port: 9464,
      maxTenants: 100,
    });
    expect(
      loadGatewayConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0', METRICS_MAX_TENANTS: '20' }).metrics,
    ).toEqual({
      host: '0.0.0.0',
      port: 9464,
      maxTenants: 20,
    });
    expect(problemsOf({ METRICS_PORT: 'on', METRICS_MAX_TENANTS: '-1' })).toEqual([
      'METRICS_PORT must be an integer from 0 to 65535',
      'METRICS_MAX_TENANTS must be an integer from 0 to 100000',
    ]);
  });

  it('turns the explorer off in production unless EXPLORER_ENABLED says otherwise', () => {
    const production = {
      NODE_ENV: 'production',
      TOLLGATE_INTERNAL_SECRET: 'ab'.repeat(32),
      TRUSTED_ISSUERS_FILE: 'i.json',
      MONGODB_URI: 'mongodb://m/',
    };
    expect(loadGatewayConfig(production).explorerEnabled).toBe(false);
    expect(loadGatewayConfig({ ...production, EXPLORER_ENABLED: 'true' }).explorerEnabled).toBe(true);
    expect(loadGatewayConfig({ EXPLORER_ENABLED: 'false' }).explorerEnabled).toBe(false);
    expect(() => loadGatewayConfig({ EXPLORER_ENABLED: 'yes' })).toThrow('EXPLORER_ENABLED must be "true" or "false"');
  });

  it('reads the shutdown settings: a delay by default in production only, and refuses values out of range', () => {
    expect(loadGatewayConfig({}).shutdown).toEqual({ delayMs: 0, graceMs: 10_000 });
    const production = {
      NODE_ENV: 'production',
      TOLLGATE_INTERNAL_SECRET: 'ab'.repeat(32),
      TRUSTED_ISSUERS_FILE: 'i.json',
      MONGODB_URI: 'mongodb://m/',
    };
    expect(loadGatewayConfig(production).shutdown).toEqual({ delayMs: 5_000, graceMs: 10_000 });
    expect(loadGatewayConfig({ ...production, SHUTDOWN_DELAY_MS: '0' }).shutdown?.delayMs).toBe(0);
    expect(loadGatewayConfig({ SHUTDOWN_DELAY_MS: '3000', SHUTDOWN_GRACE_MS: '20000' }).shutdown).toEqual({
      delayMs: 3_000,
      graceMs: 20_000,
    });
    expect(problemsOf({ SHUTDOWN_DELAY_MS: '-1', SHUTDOWN_GRACE_MS: 'long' })).toEqual([
      'SHUTDOWN_DELAY_MS must be an integer from 0 to 300000',
      'SHUTDOWN_GRACE_MS must be an integer from 0 to 600000',
    ]);
  });

  it('reads the Redis deadlines of budgets and APQ apart, and refuses values out of range', () => {
    expect(loadGatewayConfig({ BUDGET_REDIS_TIMEOUT_MS: '250', APQ_REDIS_TIMEOUT_MS: '1000' })).toMatchObject({
      budgetRedisTimeoutMs: 250,
      apqRedisTimeoutMs: 1_000,
    });
    expect(problemsOf({ BUDGET_REDIS_TIMEOUT_MS: '5', APQ_REDIS_TIMEOUT_MS: '20000' })).toEqual([
      'BUDGET_REDIS_TIMEOUT_MS must be an integer from 10 to 10000',
      'APQ_REDIS_TIMEOUT_MS must be an integer from 10 to 10000',
    ]);
  });

  it('reads the subgraph circuit breaker settings and refuses values out of range', () => {
    expect(
      loadGatewayConfig({ SUBGRAPH_BREAKER_FAILURES: '3', SUBGRAPH_BREAKER_COOLDOWN_MS: '2500' }).subgraphBreaker,
    ).toEqual({
      failureThreshold: 3,
      coolDownMs: 2500,
    });
    expect(problemsOf({ SUBGRAPH_BREAKER_FAILURES: '0', SUBGRAPH_BREAKER_COOLDOWN_MS: '10' })).toEqual([
      'SUBGRAPH_BREAKER_FAILURES must be an integer from 1 to 1000',
      'SUBGRAPH_BREAKER_COOLDOWN_MS must be an integer from 100 to 600000',
    ]);
  });

  it('reads whether identical in-flight subgraph queries are deduplicated', () => {
    expect(loadGatewayConfig({}).subgraphDeduplication).toBe('queries');
    expect(loadGatewayConfig({ SUBGRAPH_DEDUPLICATION: 'off' }).subgraphDeduplication).toBe('off');
    expect(loadGatewayConfig({ SUBGRAPH_DEDUPLICATION: 'queries' }).subgraphDeduplication).toBe('queries');
    expect(problemsOf({ SUBGRAPH_DEDUPLICATION: 'on' })).toEqual(['SUBGRAPH_DEDUPLICATION must be "queries" or "off"']);
  });

  it('points the default supergraph at the checked-in artifact', () => {
    expect(DEFAULT_SUPERGRAPH_PATH).toBe(resolve(__dirname, '../../schema/supergraph.graphql'));
  });

  it('reads every variable', () => {
    const config = loadGatewayConfig({
      ...PRODUCTION,
      PORT: '0',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'pretty',
      SUPERGRAPH_PATH: 'schema/other.graphql',
      ACCOUNTS_URL: 'https://accounts.internal/graphql',
      PRODUCTS_URL: 'http://products:8080/graphql',
      INVENTORY_URL: 'http://inventory:8080/graphql',
      REVIEWS_URL: 'http://reviews:8080/graphql',
      SUBGRAPH_TIMEOUT_MS: '1500',
      MAX_BODY_BYTES: '65536',
      REDIS_URL: 'rediss://cache:6380/0',
      CONTROL_DB: 'control_eu',
    });
    expect(config).toMatchObject({
      production: true,
      port: 0,
      host: '0.0.0.0',
      logLevel: 'warn',
      logFormat: 'pretty',
      supergraphPath: resolve('schema/other.graphql'),
      subgraphUrls: {
        accounts: 'https://accounts.internal/graphql',
        products: 'http://products:8080/graphql',
        inventory: 'http://inventory:8080/graphql',
        reviews: 'http://reviews:8080/graphql',
      },
      subgraphTimeoutMs: 1500,
      maxBodyBytes: 65536,
      jwt: { trustedIssuersFile: '/etc/tollgate/issuers.json', trustDevIssuer: false },
      controlPlane: {
        mongoUri: 'mongodb://user:pass@mongo-1:27017,mongo-2:27017/?replicaSet=rs0',
        dbName: 'control_eu',
      },
      redisUrl: 'rediss://cache:6380/0',
    });
    expect(config.internalSecret).toEqual({ source: 'env', secret: Buffer.from(SECRET, 'hex') });
  });

  it('requires real secrets, explicit identity providers and a control plane in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'TOLLGATE_INTERNAL_SECRET is required when NODE_ENV=production',
      'TRUSTED_ISSUERS_FILE is required when NODE_ENV=production',
      'MONGODB_URI is required when NODE_ENV=production',
    ]);
  });

  it('never trusts the development issuer in production', () => {
    expect(loadGatewayConfig(PRODUCTION).jwt.trustDevIssuer).toBe(false);
  });

  it('lists every invalid variable at once', () => {
    const problems = problemsOf({
      PORT: '80a',
      LOG_LEVEL: 'loud',
      LOG_FORMAT: 'colourful',
      ACCOUNTS_URL: 'ftp://accounts/graphql',
      PRODUCTS_URL: 'not a url',
      SUBGRAPH_TIMEOUT_MS: '0',
      MAX_BODY_BYTES: '12',
      TOLLGATE_INTERNAL_SECRET: 'abcd',
      REDIS_URL: 'http://cache:6379',
      MONGODB_URI: 'postgres://db/tenants',
      CONTROL_DB: 'control.plane',
    });
    expect(problems).toEqual([
      'LOG_LEVEL must be one of debug, info, warn, error',
      'LOG_FORMAT must be one of json, pretty, auto',
      'ACCOUNTS_URL must be a http: or https: URL',
      'PRODUCTS_URL must be a URL',
      'TOLLGATE_INTERNAL_SECRET must be hex of at least 32 bytes',
      'MONGODB_URI must be a mongodb: or mongodb+srv: URI',
      'CONTROL_DB must be 1–63 letters, digits, "_" or "-"',
      'PORT must be an integer from 0 to 65535',
      'SUBGRAPH_TIMEOUT_MS must be an integer from 1 to 120000',
      'MAX_BODY_BYTES must be an integer from 1024 to 104857600',
      'REDIS_URL must be a redis:, rediss:, redis+sentinel:, rediss+sentinel:, redis+cluster: or rediss+cluster: URL',
    ]);
  });

  it.each([['70000'], ['-1'], ['1e3'], [' 4.5']])('refuses PORT=%s', (port) => {
    expect(problemsOf({ PORT: port })).toEqual(['PORT must be an integer from 0 to 65535']);
  });

  it('refuses a MongoDB URI without echoing it: it may hold a password', () => {
    const uri = 'mongo://admin:hunter2@db:27017/';
    expect(problemsOf({ MONGODB_URI: uri }).join('\n')).not.toContain('hunter2');
  });

  it('refuses a secret that is not hex without echoing it', () => {
    const secret = 'zz'.repeat(40);
    const error = (() => {
      try {
        return loadGatewayConfig({ TOLLGATE_INTERNAL_SECRET: secret });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(GatewayConfigError);
    expect((error as Error).message).not.toContain(secret);
  });

  it('treats blank variables as unset', () => {
    expect(loadGatewayConfig({ PORT: '', HOST: '  ', TOLLGATE_INTERNAL_SECRET: '' })).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      internalSecret: { source: 'dev' },
    });
  });
});
