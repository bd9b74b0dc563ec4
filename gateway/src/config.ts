/**
 * The gateway's configuration: read from the environment once, validated as a whole, then passed around typed.
 * `loadGatewayConfig` is pure (no file is read here) so tests can check every rule and build configs directly;
 * the secrets a config points at are loaded when the gateway starts.
 */
import { resolve } from 'node:path';
import { readHttpServerTimeouts, type HttpServerTimeouts } from '../../common/http-server-timeouts';
import { LOG_FORMATS, parseLogFormat, type LogFormat, type LogLevel } from '../../common/logger';
import { DEFAULT_PRODUCTION_SHUTDOWN_DELAY_MS, DEFAULT_SHUTDOWN, type ShutdownConfig } from '../../common/shutdown';
import { readTracingSettings, type TracingSettings } from '../../common/tracing/settings';
import {
  envText,
  readControlPlaneSettings,
  readRedisUrl,
  readSubgraphUrls,
  readSupergraphPath,
  readUrl,
} from './config-common';
import { MAX_INPUT_NESTING } from './http/json-depth';
import { readHeaderList, type CorsHeaderConfig } from './http/cors-headers';
import type { SubgraphName } from '../../subgraphs/catalog';
import { DEFAULT_METERING, DEFAULT_USAGE_FLUSH_MS, type MeteringSettings } from './metering/settings';
import { readAuditConfig, type AuditConfig } from './audit/settings';

export { DEFAULT_METERING } from './metering/settings';

// The defaults the CLI and the scripts share live in config-common.ts, once; re-exported for the gateway's importers.
export { DEFAULT_CONTROL_DB, DEFAULT_MONGODB_URI, DEFAULT_SUPERGRAPH_PATH } from './config-common';

/** Where the gateway's internal secret comes from: the environment, or (development only) `.data/secrets`. */
export type InternalSecretSource = { source: 'env'; secret: Buffer } | { source: 'dev' };

/**
 * Bounds on the nesting of what a client sends, checked before anything walks it (input/json-depth.ts,
 * input/document-bounds.ts). Recursive code — JSON.stringify, graphql-js's parser, value walkers — overflows the
 * stack a few thousand levels down; no real operation comes near these.
 */
export interface InputBounds {
  /** Levels of objects and lists in each JSON field of the body (`variables`, `extensions`, …): `{"a":[1]}` is 2. */
  maxJsonDepth: number;
  /** Levels of `{`, `(` and `[` in the query text (outside strings and comments), for every plan. */
  maxDocumentNesting: number;
}

export const DEFAULT_INPUT_BOUNDS: InputBounds = { maxJsonDepth: 64, maxDocumentNesting: 128 };

export interface GatewayConfig {
  production: boolean;
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
  logLevel: LogLevel;
  /** LOG_FORMAT: JSON lines, pino-pretty's readable output, or `auto` (pretty on a terminal). Default `auto`. */
  logFormat?: LogFormat;
  supergraphPath: string;
  /**
   * Where new supergraphs come from while the gateway runs (supergraph/source.ts): the file at `supergraphPath`
   * watched, or `url` polled, and the control plane. Optional so configs built in code get
   * DEFAULT_SUPERGRAPH_RELOAD (the file, no URL).
   */
  supergraphReload?: SupergraphReloadConfig;
  subgraphUrls: Record<SubgraphName, string>;
  subgraphTimeoutMs: number;
  /**
   * Each subgraph's circuit breaker (upstream/circuit-breaker.ts): it opens after `failureThreshold` consecutive
   * failed fetches and lets one probe through after `coolDownMs`. Optional so configs built in code get the defaults.
   */
  subgraphBreaker?: SubgraphBreakerConfig;
  /**
   * `SUBGRAPH_DEDUPLICATION`: `queries` (the default, also when absent) — a query fetch identical to one in flight
   * for the same tenant, placement, principal and roles waits for its answer (upstream/dedupe.ts); `off`.
   */
  subgraphDeduplication?: 'queries' | 'off';
  maxBodyBytes: number;
  internalSecret: InternalSecretSource;
  /**
   * Who may sign callers' JWTs: the issuers declared in a JSON file (credentials/issuers.ts), and outside
   * production the development issuer (`npm run token`) for every tenant.
   */
  jwt: { trustedIssuersFile: string | undefined; trustDevIssuer: boolean };
  /** The control plane: tenants, plans and API keys, in a database of the gateway's own. */
  controlPlane: { mongoUri: string; dbName: string };
  redisUrl: string;
  /**
   * What the cost budget does while Redis is unreachable: `open` keeps serving from a per-process bucket (each
   * replica then grants a tenant its full capacity), `closed` refuses with SERVICE_UNAVAILABLE.
   */
  budgetFailMode: 'open' | 'closed';
  /**
   * How long a budget reservation waits for Redis (`BUDGET_REDIS_TIMEOUT_MS`) before the fail mode decides: every
   * operation waits on it, so it is short. Optional so configs built in code get DEFAULT_BUDGET_REDIS_TIMEOUT_MS.
   */
  budgetRedisTimeoutMs?: number;
  /**
   * How long an automatic persisted query's lookup or registration waits for Redis (`APQ_REDIS_TIMEOUT_MS`) before it
   * counts as a miss (the client sends the text again). Optional like `budgetRedisTimeoutMs`
   * (DEFAULT_APQ_REDIS_TIMEOUT_MS when absent).
   */
  apqRedisTimeoutMs?: number;
  /**
   * The schema explorer at /explorer (`EXPLORER_ENABLED`): on by default outside production, off in it. Optional
   * so configs built in code (tests, benchmarks) leave it off without naming it.
   */
  explorerEnabled?: boolean;
  /** `MAX_JSON_DEPTH`, `MAX_DOCUMENT_NESTING`; optional like `explorerEnabled` (DEFAULT_INPUT_BOUNDS when absent). */
  inputBounds?: InputBounds;
  /**
   * Timeouts of the gateway's HTTP listener (common/http-server-timeouts.ts). Optional like `explorerEnabled`:
   * configs built in code get DEFAULT_HTTP_SERVER_TIMEOUTS.
   */
  httpServer?: HttpServerTimeouts;
  /**
   * Estimated heap bytes each per-document cache may take (cache.ts): parsed documents, query plans, authorization
   * analyses, cost compilations. Optional so configs built in code get the defaults (`DEFAULT_CACHE_BYTES`).
   */
  cacheBytes?: CacheBytes;
  /**
   * Failed authentications per client (credentials/failure-limiter.ts, http.ts): `maxPerAddress` failures within
   * `windowMs` hold the address back for `holdMs`; `maxPerApiKey` wrong secrets for one key id answer that key's
   * failures 429 for `holdMs`; at most `trackedClients` addresses (and as many key ids) are remembered. Optional
   * so configs built in code get the defaults.
   */
  authFailures?: AuthFailureConfig;
  /** The in-memory index of API key ids (credentials/key-id-index.ts). */
  apiKeyIndex?: ApiKeyIndexConfig;
  /**
   * Graceful shutdown on SIGTERM (common/shutdown.ts): serve unready for `delayMs` (`SHUTDOWN_DELAY_MS`), then drain
   * in-flight requests for at most `graceMs` (`SHUTDOWN_GRACE_MS`). Optional so configs built in code get
   * DEFAULT_SHUTDOWN (no delay).
   */
  shutdown?: ShutdownConfig;
  /**
   * Request headers browser pages may send and answer headers their code may read, beyond the defaults
   * (http/cors-headers.ts): `CORS_ALLOWED_HEADERS`, `CORS_EXPOSED_HEADERS`. Absent when neither is set.
   */
  cors?: CorsHeaderConfig;
  /** The Prometheus listener (metrics/gateway-metrics.ts): absent, no metrics are kept or served. */
  metrics?: MetricsConfig;
  /** The audit trail (audit/index.ts, README "Audit trail"): absent, nothing is recorded. */
  audit?: AuditConfig;
  /**
   * OpenTelemetry tracing (common/tracing/settings.ts): on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (or `TOLLGATE_TRACES=console`); main.ts registers it before the
   * gateway starts. Absent, no span is made.
   */
  tracing?: TracingSettings;
  /**
   * Usage metering and the monthly quota (metering/index.ts): `USAGE_METERING`, `USAGE_ROLLUP_INTERVAL_MS`,
   * `QUOTA_FAIL_MODE`, `USAGE_FLUSH_MS`. Optional so configs built in code get DEFAULT_METERING (on).
   */
  metering?: MeteringSettings;
}

export { DEFAULT_AUDIT_SPOOL_MAX_BYTES, DEFAULT_AUDIT_SPOOL_PATH, type AuditConfig } from './audit/settings';

// The shutdown defaults are the subgraphs' too (common/shutdown.ts); re-exported for the gateway's importers.
export { DEFAULT_SHUTDOWN } from '../../common/shutdown';

/**
 * `METRICS_PORT` turns metrics on (off unless set, as tracing will be: a second listener is something the
 * deployment opens on purpose); `METRICS_HOST` (127.0.0.1 by default: the endpoint names tenants) and
 * `METRICS_MAX_TENANTS`, the tenants with a label of their own (the rest are `other`).
 */
export interface MetricsConfig {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  maxTenants: number;
}

export const DEFAULT_METRICS_MAX_TENANTS = 100;

export interface CacheBytes {
  /** Apollo Server's parsed, validated documents (`DOCUMENT_CACHE_MIB`). */
  documents: number;
  /** @apollo/gateway's query plans (`QUERY_PLAN_CACHE_MIB`). */
  queryPlans: number;
  /** The authorization gate's analyses and decision plans (`AUTHZ_CACHE_MIB`). */
  authorization: number;
  /** The cost estimator's compiled operations (`COST_CACHE_MIB`). */
  cost: number;
}

const MIB = 1_048_576;
export const DEFAULT_CACHE_BYTES: CacheBytes = {
  documents: 16 * MIB,
  queryPlans: 16 * MIB,
  authorization: 16 * MIB,
  cost: 8 * MIB,
};

export interface AuthFailureConfig {
  maxPerAddress: number;
  maxPerApiKey: number;
  windowMs: number;
  holdMs: number;
  trackedClients: number;
}

export interface SupergraphReloadConfig {
  /** `SUPERGRAPH_URL`: polled instead of watching the file when set. */
  url?: string;
  /** `SUPERGRAPH_POLL_INTERVAL_MS`, plus up to `SUPERGRAPH_POLL_JITTER_MS` at random, between polls of `url`. */
  urlPollMs: number;
  urlJitterMs: number;
  /** `SUPERGRAPH_FETCH_TIMEOUT_MS`: one fetch of `url`. */
  urlTimeoutMs: number;
  /** `SUPERGRAPH_FILE_POLL_MS`: the file is read this often besides its watch events (0: watch events only). */
  filePollMs: number;
  /** `SUPERGRAPH_CONTROL_PLANE_POLL_MS`: the published version is checked this often besides announcements. */
  controlPlanePollMs: number;
}

export const DEFAULT_SUPERGRAPH_RELOAD: SupergraphReloadConfig = {
  urlPollMs: 10_000,
  urlJitterMs: 2_000,
  urlTimeoutMs: 5_000,
  filePollMs: 2_000,
  controlPlanePollMs: 4_000,
};

export interface ApiKeyIndexConfig {
  /** How often keys created since the last refresh are read: how late a key created while Redis is down works. */
  refreshMs: number;
  fullReloadMs: number;
}

export const DEFAULT_AUTH_FAILURES: AuthFailureConfig = {
  maxPerAddress: 100,
  maxPerApiKey: 10,
  windowMs: 60_000,
  holdMs: 60_000,
  trackedClients: 10_000,
};

export const DEFAULT_API_KEY_INDEX: ApiKeyIndexConfig = { refreshMs: 4_000, fullReloadMs: 300_000 };

export interface SubgraphBreakerConfig {
  failureThreshold: number;
  coolDownMs: number;
}

export const DEFAULT_SUBGRAPH_BREAKER: SubgraphBreakerConfig = { failureThreshold: 5, coolDownMs: 10_000 };

/** A reservation waits this long for Redis: a fraction of a request's time, yet above a healthy round trip. */
export const DEFAULT_BUDGET_REDIS_TIMEOUT_MS = 100;

/** An APQ lookup waits this long for Redis: a miss costs the client one round trip, so it is not worth waiting for. */
export const DEFAULT_APQ_REDIS_TIMEOUT_MS = 100;

export class GatewayConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid gateway configuration:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    this.name = 'GatewayConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const MIN_INTERNAL_SECRET_BYTES = 32;

/**
 * Reads every variable, collects every problem, and throws one error that lists them all, so an operator fixes
 * a deployment in one round. Messages name variables and rules, never a value: some values are secrets.
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const text = (name: string): string | undefined => envText(env, name);
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const logLevelRaw = text('LOG_LEVEL') ?? 'info';
  const logLevel = LOG_LEVELS.find((level) => level === logLevelRaw);
  if (!logLevel) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = parseLogFormat(text('LOG_FORMAT'));
  if (!logFormat) problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}`);

  const subgraphUrls = readSubgraphUrls(env, problems);
  const url = (name: string, fallback: string, protocols: readonly string[]): string =>
    readUrl(env, name, fallback, protocols, problems);

  let internalSecret: InternalSecretSource = { source: 'dev' };
  const secretHex = text('TOLLGATE_INTERNAL_SECRET');
  if (secretHex === undefined) {
    if (production) problems.push('TOLLGATE_INTERNAL_SECRET is required when NODE_ENV=production');
  } else if (!/^(?:[0-9a-fA-F]{2})+$/.test(secretHex) || secretHex.length < MIN_INTERNAL_SECRET_BYTES * 2) {
    problems.push(`TOLLGATE_INTERNAL_SECRET must be hex of at least ${MIN_INTERNAL_SECRET_BYTES} bytes`);
  } else {
    internalSecret = { source: 'env', secret: Buffer.from(secretHex, 'hex') };
  }

  // A production deployment names its identity providers explicitly; the development issuer is never among them.
  const issuersFile = text('TRUSTED_ISSUERS_FILE');
  if (production && issuersFile === undefined)
    problems.push('TRUSTED_ISSUERS_FILE is required when NODE_ENV=production');

  // MONGODB_URI and CONTROL_DB, read and checked as the CLI reads them (config-common.ts).
  const controlPlane = readControlPlaneSettings(env, production, problems);
  const budgetFailMode = text('BUDGET_FAIL_MODE') ?? 'open';
  if (budgetFailMode !== 'open' && budgetFailMode !== 'closed')
    problems.push('BUDGET_FAIL_MODE must be "open" or "closed"');
  const metering = text('USAGE_METERING') ?? 'on';
  if (metering !== 'on' && metering !== 'off') problems.push('USAGE_METERING must be "on" or "off"');
  const quotaFailMode = text('QUOTA_FAIL_MODE') ?? DEFAULT_METERING.quotaFailMode;
  if (quotaFailMode !== 'open' && quotaFailMode !== 'closed')
    problems.push('QUOTA_FAIL_MODE must be "open" or "closed"');
  const deduplication = text('SUBGRAPH_DEDUPLICATION') ?? 'queries';
  if (deduplication !== 'queries' && deduplication !== 'off')
    problems.push('SUBGRAPH_DEDUPLICATION must be "queries" or "off"');
  const explorer = text('EXPLORER_ENABLED');
  if (explorer !== undefined && explorer !== 'true' && explorer !== 'false')
    problems.push('EXPLORER_ENABLED must be "true" or "false"');

  const httpServer = readHttpServerTimeouts(integer, problems);

  const corsAllowed = text('CORS_ALLOWED_HEADERS');
  const corsExposed = text('CORS_EXPOSED_HEADERS');
  const cors: CorsHeaderConfig | undefined =
    corsAllowed === undefined && corsExposed === undefined
      ? undefined
      : {
          extraAllowedHeaders: readHeaderList(corsAllowed, 'CORS_ALLOWED_HEADERS', 'allowed', problems),
          extraExposedHeaders: readHeaderList(corsExposed, 'CORS_EXPOSED_HEADERS', 'exposed', problems),
        };
  const metricsPort = text('METRICS_PORT');
  const metrics: MetricsConfig | undefined =
    metricsPort === undefined
      ? undefined
      : {
          host: text('METRICS_HOST') ?? '127.0.0.1',
          port: integer('METRICS_PORT', 0, 0, 65_535),
          maxTenants: integer('METRICS_MAX_TENANTS', DEFAULT_METRICS_MAX_TENANTS, 0, 100_000),
        };
  const tracing = readTracingSettings(env, 'tollgate-gateway', problems);

  const supergraphUrl = text('SUPERGRAPH_URL');
  const supergraphReload: SupergraphReloadConfig = {
    ...(supergraphUrl === undefined ? {} : { url: url('SUPERGRAPH_URL', '', ['http:', 'https:']) }),
    urlPollMs: integer('SUPERGRAPH_POLL_INTERVAL_MS', DEFAULT_SUPERGRAPH_RELOAD.urlPollMs, 1_000, 3_600_000),
    urlJitterMs: integer('SUPERGRAPH_POLL_JITTER_MS', DEFAULT_SUPERGRAPH_RELOAD.urlJitterMs, 0, 3_600_000),
    urlTimeoutMs: integer('SUPERGRAPH_FETCH_TIMEOUT_MS', DEFAULT_SUPERGRAPH_RELOAD.urlTimeoutMs, 100, 120_000),
    filePollMs: integer('SUPERGRAPH_FILE_POLL_MS', DEFAULT_SUPERGRAPH_RELOAD.filePollMs, 0, 3_600_000),
    controlPlanePollMs: integer(
      'SUPERGRAPH_CONTROL_PLANE_POLL_MS',
      DEFAULT_SUPERGRAPH_RELOAD.controlPlanePollMs,
      500,
      3_600_000,
    ),
  };

  const audit = readAuditConfig({ text, integer, production, controlPlane, problems });

  const config: GatewayConfig = {
    production,
    host: text('HOST') ?? '127.0.0.1',
    port: integer('PORT', 4000, 0, 65_535),
    logLevel: logLevel ?? 'info',
    logFormat: logFormat ?? 'auto',
    supergraphPath: readSupergraphPath(env),
    supergraphReload,
    subgraphUrls,
    subgraphTimeoutMs: integer('SUBGRAPH_TIMEOUT_MS', 5_000, 1, 120_000),
    subgraphBreaker: {
      failureThreshold: integer('SUBGRAPH_BREAKER_FAILURES', DEFAULT_SUBGRAPH_BREAKER.failureThreshold, 1, 1_000),
      coolDownMs: integer('SUBGRAPH_BREAKER_COOLDOWN_MS', DEFAULT_SUBGRAPH_BREAKER.coolDownMs, 100, 600_000),
    },
    subgraphDeduplication: deduplication === 'off' ? 'off' : 'queries',
    maxBodyBytes: integer('MAX_BODY_BYTES', 1_048_576, 1_024, 100 * 1_048_576),
    internalSecret,
    jwt: {
      trustedIssuersFile: issuersFile === undefined ? undefined : resolve(issuersFile),
      trustDevIssuer: !production,
    },
    controlPlane,
    redisUrl: readRedisUrl(env, problems),
    budgetFailMode: budgetFailMode === 'closed' ? 'closed' : 'open',
    budgetRedisTimeoutMs: integer('BUDGET_REDIS_TIMEOUT_MS', DEFAULT_BUDGET_REDIS_TIMEOUT_MS, 10, 10_000),
    apqRedisTimeoutMs: integer('APQ_REDIS_TIMEOUT_MS', DEFAULT_APQ_REDIS_TIMEOUT_MS, 10, 10_000),
    explorerEnabled: explorer === undefined ? !production : explorer === 'true',
    inputBounds: {
      maxJsonDepth: integer('MAX_JSON_DEPTH', DEFAULT_INPUT_BOUNDS.maxJsonDepth, 2, MAX_INPUT_NESTING),
      maxDocumentNesting: integer(
        'MAX_DOCUMENT_NESTING',
        DEFAULT_INPUT_BOUNDS.maxDocumentNesting,
        8,
        MAX_INPUT_NESTING,
      ),
    },
    httpServer,
    cacheBytes: {
      documents: integer('DOCUMENT_CACHE_MIB', DEFAULT_CACHE_BYTES.documents / MIB, 1, 4_096) * MIB,
      queryPlans: integer('QUERY_PLAN_CACHE_MIB', DEFAULT_CACHE_BYTES.queryPlans / MIB, 1, 4_096) * MIB,
      authorization: integer('AUTHZ_CACHE_MIB', DEFAULT_CACHE_BYTES.authorization / MIB, 1, 4_096) * MIB,
      cost: integer('COST_CACHE_MIB', DEFAULT_CACHE_BYTES.cost / MIB, 1, 4_096) * MIB,
    },
    authFailures: {
      maxPerAddress: integer('AUTH_FAILURES_PER_ADDRESS', DEFAULT_AUTH_FAILURES.maxPerAddress, 1, 1_000_000),
      maxPerApiKey: integer('AUTH_FAILURES_PER_API_KEY', DEFAULT_AUTH_FAILURES.maxPerApiKey, 1, 1_000_000),
      windowMs: integer('AUTH_FAILURE_WINDOW_MS', DEFAULT_AUTH_FAILURES.windowMs, 1_000, 86_400_000),
      holdMs: integer('AUTH_FAILURE_HOLD_MS', DEFAULT_AUTH_FAILURES.holdMs, 1_000, 86_400_000),
      trackedClients: integer('AUTH_FAILURE_TRACKED_CLIENTS', DEFAULT_AUTH_FAILURES.trackedClients, 100, 1_000_000),
    },
    apiKeyIndex: {
      refreshMs: integer('API_KEY_INDEX_REFRESH_MS', DEFAULT_API_KEY_INDEX.refreshMs, 500, 60_000),
      fullReloadMs: integer('API_KEY_INDEX_FULL_RELOAD_MS', DEFAULT_API_KEY_INDEX.fullReloadMs, 10_000, 86_400_000),
    },
    shutdown: {
      delayMs: integer(
        'SHUTDOWN_DELAY_MS',
        production ? DEFAULT_PRODUCTION_SHUTDOWN_DELAY_MS : DEFAULT_SHUTDOWN.delayMs,
        0,
        300_000,
      ),
      graceMs: integer('SHUTDOWN_GRACE_MS', DEFAULT_SHUTDOWN.graceMs, 0, 600_000),
    },
    metering: {
      enabled: metering !== 'off',
      rollupIntervalMs: integer('USAGE_ROLLUP_INTERVAL_MS', DEFAULT_METERING.rollupIntervalMs, 0, 3_600_000),
      quotaFailMode: quotaFailMode === 'closed' ? 'closed' : 'open',
      flushMs: integer('USAGE_FLUSH_MS', DEFAULT_USAGE_FLUSH_MS, 0, 10_000),
    },
    ...(cors ? { cors } : {}),
    ...(metrics ? { metrics } : {}),
    ...(tracing ? { tracing } : {}),
    ...(audit ? { audit } : {}),
  };
  if (problems.length > 0) throw new GatewayConfigError(problems);
  return config;
}
