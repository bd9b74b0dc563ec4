/**
 * The control plane, opened in one place: tenants and plans (tenants/registry.ts), API keys
 * (credentials/api-keys.ts) and persisted-operation manifests (persisted/registry.ts) in the gateway's own MongoDB
 * database (`tollgate_control` by default), on a connection of their own, every write announced through one
 * `ChangePublisher` (tenants/changes.ts) so running gateways drop what they cached.
 *
 * The registries do not know each other: the key and manifest registries check a tenant exists through
 * `TenantLookup` (registry-common.ts), and this module — the only one that imports all three — hands them the
 * tenant registry. Demo data is not seeded here (demo/control-plane.ts).
 */
import mongoose, { type mongo } from 'mongoose';
import { ensureIndexes, type IndexMode } from '../../../common/indexes';
import { DEFAULT_CONTROL_DB, isControlDbName } from '../config-common';
import { ApiKeyRegistry } from '../credentials/api-keys';
import { UsageStore } from '../metering/store';
import { ManifestRegistry } from '../persisted/registry';
import type { ChangePublisher } from '../tenants/changes';
import { SupergraphRegistry } from '../supergraph/registry';
import { TenantRegistry } from '../tenants/registry';
import { ErasedTenantRegistry } from '../tenants/erased';

export interface ControlPlaneOptions {
  mongoUri: string;
  dbName?: string;
  /** Where writes are announced; a gateway, which only reads, has none. */
  changes?: ChangePublisher;
  /** Told of every command sent (the driver's command monitoring, on only when this is given). */
  onCommand?: (event: mongo.CommandStartedEvent) => void;
  /**
   * `create` (the default: `tollgate migrate`, tests, the demo) syncs the indexes and writes the built-in plans;
   * `verify` (the gateway) only checks the indexes exist and writes nothing (common/indexes.ts).
   */
  indexes?: IndexMode;
}

export interface ControlPlane {
  readonly dbName: string;
  readonly tenants: TenantRegistry;
  readonly apiKeys: ApiKeyRegistry;
  readonly manifests: ManifestRegistry;
  /** Published supergraphs (`tollgate supergraph publish`), which every gateway replica switches to. */
  readonly supergraphs: SupergraphRegistry;
  /** Usage rollups (metering/store.ts): written by the gateways' rollup, read by reports. */
  readonly usage: UsageStore;
  /** Erased tenants, by pseudonym (tenants/erased.ts): what keeps an erased id from being onboarded again. */
  readonly erasedTenants: ErasedTenantRegistry;
  /** Resolves when MongoDB answers a ping within `timeoutMs`, rejects otherwise (readiness, health.ts). */
  ping(timeoutMs: number): Promise<void>;
  /** Drops the whole control-plane database: for tests that made one of their own. */
  dropDatabase(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects, syncs the indexes and the built-in plans (both idempotent) or, with `indexes: 'verify'`, checks the
 * indexes exist, and hands out the registries.
 * Fails fast when MongoDB does not answer, rather than queueing operations behind a connection that may never come.
 */
export async function openControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const dbName = options.dbName ?? DEFAULT_CONTROL_DB;
  if (!isControlDbName(dbName))
    throw new Error('the control-plane database name must be 1–63 letters, digits, "_" or "-"');
  // Never mongoose's default connection: the gateway process may host other connections (and tests several).
  const connection = mongoose.createConnection(options.mongoUri, {
    dbName,
    sanitizeFilter: true,
    bufferCommands: false,
    autoIndex: false,
    // No `create` command when a model is compiled: collections come from the migration (or the first insert).
    autoCreate: false,
    serverSelectionTimeoutMS: 5_000,
    ...(options.onCommand ? { monitorCommands: true } : {}),
  });
  if (options.onCommand) connection.getClient().on('commandStarted', options.onCommand);
  try {
    await connection.asPromise();
    const tenants = new TenantRegistry(connection, options.changes);
    const apiKeys = new ApiKeyRegistry(connection, tenants, options.changes);
    const manifests = new ManifestRegistry(connection, tenants, options.changes);
    const supergraphs = new SupergraphRegistry(connection, options.changes);
    const usage = new UsageStore(connection);
    const erasedTenants = new ErasedTenantRegistry(connection);
    const mode = options.indexes ?? 'create';
    await ensureIndexes(connection, mode);
    if (mode === 'create') await tenants.ensureDefaultPlans();
    return {
      dbName,
      tenants,
      apiKeys,
      manifests,
      supergraphs,
      usage,
      erasedTenants,
      async ping(timeoutMs) {
        const db = connection.db;
        if (!db) throw new Error('control plane not connected');
        // Server selection alone may wait `serverSelectionTimeoutMS`: a probe must answer sooner than that.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('control plane ping timed out')), timeoutMs);
        });
        await Promise.race([db.command({ ping: 1 }), timeout]).finally(() => clearTimeout(timer));
      },
      async dropDatabase() {
        await connection.dropDatabase();
      },
      close: () => connection.close(),
    };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}
