/** The environment of `subgraphs/run.ts`, read and checked in one place. */
import { readHttpServerTimeouts, type HttpServerTimeouts } from '../common/http-server-timeouts';
import { LOG_FORMATS, parseLogFormat, parseLogLevel, type LogFormat, type LogLevel } from '../common/logger';
import { readEncryptionSettings, type EncryptionSettings } from '../common/master-key';
import { DEFAULT_PRODUCTION_SHUTDOWN_DELAY_MS, DEFAULT_SHUTDOWN, type ShutdownConfig } from '../common/shutdown';
import { readTracingSettings, type TracingSettings } from '../common/tracing/settings';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES, isSubgraphName, type SubgraphName } from './catalog';
import { DEFAULT_DATABASE_TIMEOUTS, defaultDbName, type DatabaseTimeouts } from './kit/database';
import { DEFAULT_MAX_REQUEST_DEADLINE_MS } from './kit/deadline';
import { CONNECTION_LOADER_MODES, type ConnectionLoaderMode } from './kit/loaders';

export interface RunConfig {
  name: SubgraphName;
  host: string;
  port: number;
  mongoUri: string;
  dbName: string;
  internalKey: Buffer;
  logLevel: LogLevel;
  /** LOG_FORMAT: `json`, `pretty` or `auto` (pretty on a terminal, the default). */
  logFormat: LogFormat;
  /** The listener's timeouts (`HTTP_*`, as the gateway's). */
  http: HttpServerTimeouts;
  /** The driver's timeouts (`MONGODB_*_TIMEOUT_MS`). */
  database: DatabaseTimeouts;
  /** `REQUEST_DEADLINE_MS`: the longest a request may take, and the deadline of one whose token names none. */
  maxRequestDeadlineMs: number;
  /**
   * `SUBGRAPH_CONNECTION_LOADER`: `batched` or `per-parent`, the loader before issue 20 (for the bench). Absent
   * when unset: the server's default, `batched`.
   */
  connectionLoader?: ConnectionLoaderMode;
  /** `SUBGRAPH_COUNT_COMMANDS=1`: count database commands, served at `GET /_bench/commands` to loopback only. */
  countCommands?: true;
  /** `SHUTDOWN_DELAY_MS` (5 s when NODE_ENV=production, else 0) and `SHUTDOWN_GRACE_MS`, as the gateway's. */
  shutdown: ShutdownConfig;
  /** `METRICS_PORT` (and `METRICS_HOST`, 127.0.0.1 by default): serve Prometheus metrics there; off when unset. */
  metrics?: { host: string; port: number };
  /** OpenTelemetry tracing from the standard `OTEL_*` variables (common/tracing/settings.ts); off when absent. */
  tracing?: TracingSettings;
  /** `ENCRYPTION_AT_REST`, `ENCRYPTION_MASTER_KEY(_FILE)`, `ENCRYPTION_KEY_CACHE_*` (common/master-key.ts). */
  encryption: EncryptionSettings;
}

const HEX_KEY = /^(?:[0-9a-fA-F]{2}){32,}$/;
const PORT = /^\d{1,5}$/;
const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const LOG_LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

/** Reads the whole configuration; the error lists every problem at once and never echoes a value. */
export function parseRunConfig(args: readonly string[], env: NodeJS.ProcessEnv): RunConfig {
  const name = args[0];
  if (!isSubgraphName(name)) throw new Error(`the first argument must name a subgraph: <${SUBGRAPH_NAMES.join('|')}>`);
  const problems: string[] = [];

  const port = env.PORT === undefined ? DEFAULT_SUBGRAPH_PORTS[name] : Number(env.PORT);
  if (env.PORT !== undefined && (!PORT.test(env.PORT) || port > 65535))
    problems.push('PORT must be a port number (0–65535)');
  const host = env.HOST ?? '127.0.0.1';
  if (host.trim() === '') problems.push('HOST must not be empty');
  const mongoUri = env.MONGODB_URI ?? '';
  if (!/^mongodb(\+srv)?:\/\/\S+$/.test(mongoUri))
    problems.push('MONGODB_URI is required: a mongodb:// or mongodb+srv:// URI');
  const dbName = env.MONGODB_DB ?? defaultDbName(name);
  if (!DB_NAME.test(dbName)) problems.push('MONGODB_DB must be 1–63 letters, digits, "_" or "-"');
  const keyHex = env.TOLLGATE_INTERNAL_KEY ?? '';
  if (!HEX_KEY.test(keyHex)) {
    problems.push(
      "TOLLGATE_INTERNAL_KEY is required: the hex of this subgraph's derived key, at least 32 bytes (npm run internal-keys)",
    );
  }
  if (env.LOG_LEVEL !== undefined && !LOG_LEVELS.includes(env.LOG_LEVEL))
    problems.push('LOG_LEVEL must be debug, info, warn or error');
  const logFormat = parseLogFormat(env.LOG_FORMAT);
  if (!logFormat) problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}`);

  const integer = (variable: string, fallback: number, min: number, max: number): number => {
    const raw = env[variable];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d{1,10}$/.test(raw) || value < min || value > max) {
      problems.push(`${variable} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const http = readHttpServerTimeouts(integer, problems);
  const database: DatabaseTimeouts = {
    serverSelectionTimeoutMs: integer(
      'MONGODB_SERVER_SELECTION_TIMEOUT_MS',
      DEFAULT_DATABASE_TIMEOUTS.serverSelectionTimeoutMs,
      100,
      120_000,
    ),
    connectTimeoutMs: integer('MONGODB_CONNECT_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.connectTimeoutMs, 100, 120_000),
    socketTimeoutMs: integer('MONGODB_SOCKET_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.socketTimeoutMs, 100, 600_000),
  };
  const maxRequestDeadlineMs = integer('REQUEST_DEADLINE_MS', DEFAULT_MAX_REQUEST_DEADLINE_MS, 10, 60_000);
  // A socket timeout below the longest deadline would cut operations the deadline still allows.
  if (database.socketTimeoutMs < maxRequestDeadlineMs)
    problems.push('MONGODB_SOCKET_TIMEOUT_MS must be at least REQUEST_DEADLINE_MS');

  const connectionLoader = env.SUBGRAPH_CONNECTION_LOADER as ConnectionLoaderMode | undefined;
  if (connectionLoader !== undefined && !CONNECTION_LOADER_MODES.includes(connectionLoader)) {
    problems.push(`SUBGRAPH_CONNECTION_LOADER must be ${CONNECTION_LOADER_MODES.join(' or ')}`);
  }
  const countCommands = env.SUBGRAPH_COUNT_COMMANDS === '1' ? true : undefined;
  if (env.SUBGRAPH_COUNT_COMMANDS !== undefined && !['0', '1'].includes(env.SUBGRAPH_COUNT_COMMANDS))
    problems.push('SUBGRAPH_COUNT_COMMANDS must be 0 or 1');

  const shutdown: ShutdownConfig = {
    delayMs: integer(
      'SHUTDOWN_DELAY_MS',
      env.NODE_ENV === 'production' ? DEFAULT_PRODUCTION_SHUTDOWN_DELAY_MS : DEFAULT_SHUTDOWN.delayMs,
      0,
      300_000,
    ),
    graceMs: integer('SHUTDOWN_GRACE_MS', DEFAULT_SHUTDOWN.graceMs, 0, 600_000),
  };
  let metrics: { host: string; port: number } | undefined;
  if (env.METRICS_PORT !== undefined) {
    const metricsPort = Number(env.METRICS_PORT);
    if (!PORT.test(env.METRICS_PORT) || metricsPort > 65535)
      problems.push('METRICS_PORT must be a port number (0–65535)');
    metrics = { host: env.METRICS_HOST ?? '127.0.0.1', port: metricsPort };
  }

  const tracing = readTracingSettings(env, `tollgate-${name}`, problems);
  const encryption = readEncryptionSettings(env, problems);

  if (problems.length > 0) throw new Error(`invalid configuration for ${name}: ${problems.join('; ')}`);
  return {
    name,
    host,
    port,
    mongoUri,
    dbName,
    internalKey: Buffer.from(keyHex, 'hex'),
    logLevel: parseLogLevel(env.LOG_LEVEL, 'info'),
    logFormat: logFormat ?? 'auto',
    http,
    database,
    maxRequestDeadlineMs,
    shutdown,
    encryption,
    ...(connectionLoader ? { connectionLoader } : {}),
    ...(countCommands ? { countCommands } : {}),
    ...(metrics ? { metrics } : {}),
    ...(tracing ? { tracing } : {}),
  };
}
