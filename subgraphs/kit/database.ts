/** Each subgraph's own database connection, opened one way for the server, the seeder and the tests. */
import mongoose, { type Connection, type Model } from 'mongoose';
import type { SubgraphName } from '../catalog';
import { ensureIndexes, type IndexMode } from '../../common/indexes';
import { isTenantScoped } from './tenant-plugin';

export function defaultDbName(name: SubgraphName): string {
  return `tollgate_${name}`;
}

const DB_NAME_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

export interface DatabaseOptions {
  mongoUri: string;
  dbName: string;
  /** Emit the driver's command events on `connection.getClient()` (tests count queries with them). */
  monitorCommands?: boolean;
  /** How long the driver waits for an unreachable database; DEFAULT_DATABASE_TIMEOUTS when absent. */
  timeouts?: DatabaseTimeouts;
}

/**
 * The driver's own bounds. Requests are bounded by their deadline (deadline.ts); these bound what the driver does
 * underneath, so that a blackholed database costs connections for seconds, not minutes. (Driver 7 has no
 * per-operation timeout: its `timeoutMS` is deprecated and has no effect.)
 */
export interface DatabaseTimeouts {
  /** How long an operation waits for a reachable server (driver default 30 s). */
  serverSelectionTimeoutMs: number;
  /** TCP connect plus the handshake of a new connection, and the monitor's checks (driver default 30 s). */
  connectTimeoutMs: number;
  /**
   * A connection with no answer for this long is closed (driver default: never). Above the longest deadline a
   * request can have: it reaps the connections of operations the deadline already abandoned.
   */
  socketTimeoutMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: Readonly<DatabaseTimeouts> = Object.freeze({
  serverSelectionTimeoutMs: 5_000,
  connectTimeoutMs: 3_000,
  socketTimeoutMs: 15_000,
});

/**
 * A connection of its own, never mongoose's global default one: several subgraphs run in one process in tests, and
 * a model compiled on the default connection would be shared by all of them.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Connection> {
  if (!DB_NAME_PATTERN.test(options.dbName))
    throw new Error('the database name must be 1–63 letters, digits, "_" or "-"');
  const timeouts = options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS;
  const connection = mongoose.createConnection(options.mongoUri, {
    dbName: options.dbName,
    // Operators in code-built filters are marked with mongoose.trusted(); any other `$` key is neutralised.
    sanitizeFilter: true,
    // Fail fast when the database is gone instead of queueing operations for 10 s.
    bufferCommands: false,
    // Indexes are synced by `tollgate migrate` (or checked) in registerModels, never in the background; collections
    // come from the migration (or the first insert), not from a `create` command when a model is compiled.
    autoIndex: false,
    autoCreate: false,
    monitorCommands: options.monitorCommands ?? false,
    serverSelectionTimeoutMS: timeouts.serverSelectionTimeoutMs,
    connectTimeoutMS: timeouts.connectTimeoutMs,
    socketTimeoutMS: timeouts.socketTimeoutMs,
  });
  try {
    await connection.asPromise();
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
  return connection;
}

/**
 * Compiles a subgraph's models on `connection`, refuses any model without the tenant plugin, and syncs the indexes
 * (`create`: migrations, tests, the demo) or checks they exist (`verify`: a running subgraph) — the unique ones are
 * what keeps SKUs and e-mail addresses unique per tenant.
 */
export async function registerModels<TModels>(
  connection: Connection,
  build: (connection: Connection) => TModels,
  indexes: IndexMode = 'create',
): Promise<TModels> {
  const models = build(connection);
  for (const [name, model] of Object.entries(connection.models)) {
    if (!isTenantScoped(model as Model<unknown>)) throw new Error(`model ${name} is not tenant-scoped`);
  }
  await ensureIndexes(connection, indexes);
  return models;
}
