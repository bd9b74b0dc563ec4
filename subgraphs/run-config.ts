/** The environment of `subgraphs/run.ts`, read and checked in one place. */
import { parseLogLevel, type LogLevel } from '../common/logger';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES, type SubgraphName } from './catalog';
import { defaultDbName } from './kit/database';

export interface RunConfig {
  name: SubgraphName;
  host: string;
  port: number;
  mongoUri: string;
  dbName: string;
  internalKey: Buffer;
  logLevel: LogLevel;
}

const HEX_KEY = /^(?:[0-9a-fA-F]{2}){32,}$/;
const PORT = /^\d{1,5}$/;
const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const LOG_LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

function isSubgraphName(value: string | undefined): value is SubgraphName {
  return (SUBGRAPH_NAMES as readonly (string | undefined)[]).includes(value);
}

/** Reads the whole configuration; the error lists every problem at once and never echoes a value. */
export function parseRunConfig(args: readonly string[], env: NodeJS.ProcessEnv): RunConfig {
  const name = args[0];
  if (!isSubgraphName(name)) throw new Error(`the first argument must name a subgraph: <${SUBGRAPH_NAMES.join('|')}>`);
  const problems: string[] = [];

  const port = env.PORT === undefined ? DEFAULT_SUBGRAPH_PORTS[name] : Number(env.PORT);
  if (env.PORT !== undefined && (!PORT.test(env.PORT) || port > 65535)) problems.push('PORT must be a port number (0–65535)');
  const host = env.HOST ?? '127.0.0.1';
  if (host.trim() === '') problems.push('HOST must not be empty');
  const mongoUri = env.MONGODB_URI ?? '';
  if (!/^mongodb(\+srv)?:\/\/\S+$/.test(mongoUri)) problems.push('MONGODB_URI is required: a mongodb:// or mongodb+srv:// URI');
  const dbName = env.MONGODB_DB ?? defaultDbName(name);
  if (!DB_NAME.test(dbName)) problems.push('MONGODB_DB must be 1–63 letters, digits, "_" or "-"');
  const keyHex = env.TOLLGATE_INTERNAL_KEY ?? '';
  if (!HEX_KEY.test(keyHex)) {
    problems.push("TOLLGATE_INTERNAL_KEY is required: the hex of this subgraph's derived key, at least 32 bytes (npm run internal-keys)");
  }
  if (env.LOG_LEVEL !== undefined && !LOG_LEVELS.includes(env.LOG_LEVEL)) problems.push('LOG_LEVEL must be debug, info, warn or error');

  if (problems.length > 0) throw new Error(`invalid configuration for ${name}: ${problems.join('; ')}`);
  return { name, host, port, mongoUri, dbName, internalKey: Buffer.from(keyHex, 'hex'), logLevel: parseLogLevel(env.LOG_LEVEL, 'info') };
}
