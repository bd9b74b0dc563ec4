/**
 * The settings the gateway shares with the `tollgate` CLI and the scripts — where the control plane's MongoDB and
 * Redis are, which supergraph is served — with their one default each and their validation. config.ts builds the
 * gateway's configuration on these readers; the CLI loads them with `loadCommonConfig`, so an operator's REDIS_URL
 * or CONTROL_DB means the same thing (and is refused for the same reasons) in both.
 */
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../common/paths';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES, type SubgraphName } from '../../subgraphs/catalog';
import { parseRedisUrl, RedisUrlError } from './redis/connect';

export const DEFAULT_MONGODB_URI = 'mongodb://127.0.0.1:27017/';
export const DEFAULT_CONTROL_DB = 'tollgate_control';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_SUPERGRAPH_PATH = join(PROJECT_ROOT, 'schema', 'supergraph.graphql');

const DB_NAME_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

/** A MongoDB database name the control plane accepts (CONTROL_DB): letters, digits, `_` and `-`, 1–63 of them. */
export function isControlDbName(name: string): boolean {
  return DB_NAME_PATTERN.test(name);
}

/** A variable's value with surrounding blanks removed; `undefined` when unset or blank. */
export function envText(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A URL variable with one of `protocols`; a problem (naming the variable, never the value) when it is not. */
export function readUrl(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: string,
  protocols: readonly string[],
  problems: string[],
): string {
  const raw = envText(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    problems.push(`${name} must be a URL`);
    return fallback;
  }
  if (!protocols.includes(parsed.protocol)) problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
  return raw;
}

/** The control plane: tenants, plans and API keys, in a database of the gateway's own. */
export interface ControlPlaneSettings {
  mongoUri: string;
  dbName: string;
}

/**
 * MONGODB_URI and CONTROL_DB. The URI may hold a password, so it is checked for its scheme only and never quoted.
 * (A replica-set URI lists several hosts, which `new URL` refuses.) Production names its MongoDB explicitly.
 */
export function readControlPlaneSettings(
  env: NodeJS.ProcessEnv,
  production: boolean,
  problems: string[],
): ControlPlaneSettings {
  const mongoUri = envText(env, 'MONGODB_URI');
  if (production && mongoUri === undefined) problems.push('MONGODB_URI is required when NODE_ENV=production');
  else if (mongoUri !== undefined && !/^mongodb(?:\+srv)?:\/\/\S+$/.test(mongoUri))
    problems.push('MONGODB_URI must be a mongodb: or mongodb+srv: URI');
  const dbName = envText(env, 'CONTROL_DB') ?? DEFAULT_CONTROL_DB;
  if (!isControlDbName(dbName)) problems.push('CONTROL_DB must be 1–63 letters, digits, "_" or "-"');
  return { mongoUri: mongoUri ?? DEFAULT_MONGODB_URI, dbName };
}

/** REDIS_URL: where replicas share state and control-plane changes are announced. */
export function readRedisUrl(env: NodeJS.ProcessEnv, problems: string[]): string {
  // One node, Sentinel or Cluster, told apart by the scheme (redis/connect.ts); the message never repeats the URL.
  const raw = envText(env, 'REDIS_URL') ?? DEFAULT_REDIS_URL;
  try {
    parseRedisUrl(raw);
  } catch (error) {
    problems.push(error instanceof RedisUrlError ? error.message : 'REDIS_URL is invalid');
    return DEFAULT_REDIS_URL;
  }
  return raw;
}

/** SUPERGRAPH_PATH, resolved against the working directory. */
export function readSupergraphPath(env: NodeJS.ProcessEnv): string {
  return resolve(envText(env, 'SUPERGRAPH_PATH') ?? DEFAULT_SUPERGRAPH_PATH);
}

/** What the CLI and the scripts need of the configuration. */
export interface CommonConfig {
  controlPlane: ControlPlaneSettings;
  redisUrl: string;
  supergraphPath: string;
}

export class CommonConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    this.name = 'CommonConfigError';
  }
}

/** Reads and validates the shared settings as the gateway does; throws one error listing every problem. */
export function loadCommonConfig(env: NodeJS.ProcessEnv): CommonConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const config: CommonConfig = {
    controlPlane: readControlPlaneSettings(env, production, problems),
    redisUrl: readRedisUrl(env, problems),
    supergraphPath: readSupergraphPath(env),
  };
  if (problems.length > 0) throw new CommonConfigError(problems);
  return config;
}

/** `<NAME>_URL` of every subgraph (its `/graphql` URL), as the gateway and the CLI's platform calls read them. */
export function readSubgraphUrls(env: NodeJS.ProcessEnv, problems: string[]): Record<SubgraphName, string> {
  const urls = {} as Record<SubgraphName, string>;
  for (const name of SUBGRAPH_NAMES) {
    urls[name] = readUrl(
      env,
      `${name.toUpperCase()}_URL`,
      `http://127.0.0.1:${DEFAULT_SUBGRAPH_PORTS[name]}/graphql`,
      ['http:', 'https:'],
      problems,
    );
  }
  return urls;
}

export const MIN_INTERNAL_SECRET_BYTES = 32;

/** What the CLI's tenant lifecycle commands need to call the subgraphs' platform API. */
export interface PlatformApiSettings {
  subgraphUrls: Record<SubgraphName, string>;
  /**
   * TOLLGATE_INTERNAL_SECRET (hex), the gateway's: each subgraph's platform key derives from it. Absent outside
   * production, the development secret under .data/secrets is used, as the gateway does.
   */
  internalSecret: Buffer | undefined;
  /** PLATFORM_TIMEOUT_MS: the longest one platform call (one export page, one import batch, one erase) may take. */
  timeoutMs: number;
}

export function loadPlatformApiSettings(env: NodeJS.ProcessEnv): PlatformApiSettings {
  const problems: string[] = [];
  const subgraphUrls = readSubgraphUrls(env, problems);
  const secretHex = envText(env, 'TOLLGATE_INTERNAL_SECRET');
  let internalSecret: Buffer | undefined;
  if (secretHex === undefined) {
    if (env.NODE_ENV === 'production') problems.push('TOLLGATE_INTERNAL_SECRET is required when NODE_ENV=production');
  } else if (!/^(?:[0-9a-fA-F]{2})+$/.test(secretHex) || secretHex.length < MIN_INTERNAL_SECRET_BYTES * 2) {
    problems.push(`TOLLGATE_INTERNAL_SECRET must be hex of at least ${MIN_INTERNAL_SECRET_BYTES} bytes`);
  } else {
    internalSecret = Buffer.from(secretHex, 'hex');
  }
  const rawTimeout = envText(env, 'PLATFORM_TIMEOUT_MS');
  const timeoutMs = rawTimeout === undefined ? 120_000 : Number(rawTimeout);
  if (rawTimeout !== undefined && (!/^\d{1,7}$/.test(rawTimeout) || timeoutMs < 1_000 || timeoutMs > 3_600_000))
    problems.push('PLATFORM_TIMEOUT_MS must be an integer from 1000 to 3600000');
  if (problems.length > 0) throw new CommonConfigError(problems);
  return { subgraphUrls, internalSecret, timeoutMs };
}
