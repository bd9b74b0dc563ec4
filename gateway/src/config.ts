/**
 * The gateway's configuration: read from the environment once, validated as a whole, then passed around typed.
 * `loadGatewayConfig` is pure (no file is read here) so tests can check every rule and build configs directly;
 * the secrets a config points at are loaded when the gateway starts.
 */
import { join, resolve } from 'node:path';
import type { LogLevel } from '../../common/logger';
import { PROJECT_ROOT } from '../../common/paths';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES, type SubgraphName } from '../../subgraphs/catalog';

export const DEFAULT_SUPERGRAPH_PATH = join(PROJECT_ROOT, 'schema', 'supergraph.graphql');

/** Where the gateway's internal secret comes from: the environment, or (development only) `.data/secrets`. */
export type InternalSecretSource = { source: 'env'; secret: Buffer } | { source: 'dev' };

export const DEFAULT_MONGODB_URI = 'mongodb://127.0.0.1:27017/';
export const DEFAULT_CONTROL_DB = 'tollgate_control';
const DB_NAME_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

export interface GatewayConfig {
  production: boolean;
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
  logLevel: LogLevel;
  supergraphPath: string;
  subgraphUrls: Record<SubgraphName, string>;
  subgraphTimeoutMs: number;
  /**
   * Each subgraph's circuit breaker (upstream/circuit-breaker.ts): it opens after `failureThreshold` consecutive
   * failed fetches and lets one probe through after `coolDownMs`. Optional so configs built in code get the defaults.
   */
  subgraphBreaker?: SubgraphBreakerConfig;
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
   * The schema explorer at /explorer (`EXPLORER_ENABLED`): on by default outside production, off in it. Optional
   * so configs built in code (tests, benchmarks) leave it off without naming it.
   */
  explorerEnabled?: boolean;
}

export interface SubgraphBreakerConfig {
  failureThreshold: number;
  coolDownMs: number;
}

export const DEFAULT_SUBGRAPH_BREAKER: SubgraphBreakerConfig = { failureThreshold: 5, coolDownMs: 10_000 };

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
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
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
  const url = (name: string, fallback: string, protocols: readonly string[]): string => {
    const raw = text(name) ?? fallback;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(`${name} must be a URL`);
      return fallback;
    }
    if (!protocols.includes(parsed.protocol)) problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
    return raw;
  };

  const logLevelRaw = text('LOG_LEVEL') ?? 'info';
  const logLevel = LOG_LEVELS.find((level) => level === logLevelRaw);
  if (!logLevel) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const subgraphUrls = {} as Record<SubgraphName, string>;
  for (const name of SUBGRAPH_NAMES) {
    subgraphUrls[name] = url(
      `${name.toUpperCase()}_URL`,
      `http://127.0.0.1:${DEFAULT_SUBGRAPH_PORTS[name]}/graphql`,
      ['http:', 'https:'],
    );
  }

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
  if (production && issuersFile === undefined) problems.push('TRUSTED_ISSUERS_FILE is required when NODE_ENV=production');

  // The URI may hold a password, so it is checked for its scheme only and never quoted. (A replica-set URI lists
  // several hosts, which `new URL` refuses.)
  const mongoUri = text('MONGODB_URI');
  if (production && mongoUri === undefined) problems.push('MONGODB_URI is required when NODE_ENV=production');
  else if (mongoUri !== undefined && !/^mongodb(?:\+srv)?:\/\/\S+$/.test(mongoUri)) problems.push('MONGODB_URI must be a mongodb: or mongodb+srv: URI');
  const controlDb = text('CONTROL_DB') ?? DEFAULT_CONTROL_DB;
  const budgetFailMode = text('BUDGET_FAIL_MODE') ?? 'open';
  if (budgetFailMode !== 'open' && budgetFailMode !== 'closed') problems.push('BUDGET_FAIL_MODE must be "open" or "closed"');
  if (!DB_NAME_PATTERN.test(controlDb)) problems.push('CONTROL_DB must be 1–63 letters, digits, "_" or "-"');
  const explorer = text('EXPLORER_ENABLED');
  if (explorer !== undefined && explorer !== 'true' && explorer !== 'false') problems.push('EXPLORER_ENABLED must be "true" or "false"');

  const config: GatewayConfig = {
    production,
    host: text('HOST') ?? '127.0.0.1',
    port: integer('PORT', 4000, 0, 65_535),
    logLevel: logLevel ?? 'info',
    supergraphPath: resolve(text('SUPERGRAPH_PATH') ?? DEFAULT_SUPERGRAPH_PATH),
    subgraphUrls,
    subgraphTimeoutMs: integer('SUBGRAPH_TIMEOUT_MS', 5_000, 1, 120_000),
    subgraphBreaker: {
      failureThreshold: integer('SUBGRAPH_BREAKER_FAILURES', DEFAULT_SUBGRAPH_BREAKER.failureThreshold, 1, 1_000),
      coolDownMs: integer('SUBGRAPH_BREAKER_COOLDOWN_MS', DEFAULT_SUBGRAPH_BREAKER.coolDownMs, 100, 600_000),
    },
    maxBodyBytes: integer('MAX_BODY_BYTES', 1_048_576, 1_024, 100 * 1_048_576),
    internalSecret,
    jwt: { trustedIssuersFile: issuersFile === undefined ? undefined : resolve(issuersFile), trustDevIssuer: !production },
    controlPlane: { mongoUri: mongoUri ?? DEFAULT_MONGODB_URI, dbName: controlDb },
    redisUrl: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    budgetFailMode: budgetFailMode === 'closed' ? 'closed' : 'open',
    explorerEnabled: explorer === undefined ? !production : explorer === 'true',
  };
  if (problems.length > 0) throw new GatewayConfigError(problems);
  return config;
}
