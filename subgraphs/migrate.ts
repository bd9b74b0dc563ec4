/**
 * The subgraphs' part of `tollgate migrate` (cli/migrate.ts): each subgraph's models compiled on its database and
 * their indexes synced (common/indexes.ts). Imports the models only — never a resolver or a schema — so the CLI
 * stays a small bundle that cannot serve anything.
 */
import type { Connection } from 'mongoose';
import { SUBGRAPH_NAMES, type SubgraphName } from './catalog';
import { ACCOUNTS_ENCRYPTED, createAccountsModels } from './accounts/models';
import { createInventoryModels } from './inventory/models';
import { createProductsModels } from './products/models';
import { REVIEWS_ENCRYPTED, createReviewsModels } from './reviews/models';
import { defaultDbName, openDatabase, registerModels } from './kit/database';
import { siloDbName } from './kit/placement';
import { openEncryption, type EncryptionOptions } from './kit/encryption';
import { reencryptCollection, type EncryptedCollection, type ReencryptResult } from './kit/encryption/reencrypt';

export const MODELS: Record<SubgraphName, (connection: Connection) => unknown> = {
  accounts: createAccountsModels,
  inventory: createInventoryModels,
  products: createProductsModels,
  reviews: createReviewsModels,
};

/** Each subgraph's encrypted fields (declared beside its models). */
export const ENCRYPTED: Record<SubgraphName, readonly EncryptedCollection[]> = {
  accounts: ACCOUNTS_ENCRYPTED,
  inventory: [],
  products: [],
  reviews: REVIEWS_ENCRYPTED,
};

export interface MigrateSubgraphsOptions {
  mongoUri: string;
  /** Which subgraphs; all by default. */
  names?: readonly SubgraphName[];
  /** Each subgraph's database; `tollgate_<name>` by default, as subgraphs/run.ts uses (its MONGODB_DB). */
  dbNameFor?: (name: SubgraphName) => string;
  /** Told of each database once its indexes are synced. */
  onMigrated?: (name: SubgraphName, dbName: string) => void;
  /**
   * On (a key provider): clear values of the encrypted fields are sealed first, before the indexes are synced (the
   * unique blind index needs every document to carry one). `'off'` or absent: indexes only.
   */
  encryption?: EncryptionOptions;
  /** Told of each encrypted collection once its clear values are sealed. */
  onEncrypted?: (name: SubgraphName, result: ReencryptResult) => void;
  /**
   * The database whose `tenant_keys` hold the data keys the sealing uses; the migrated one by default. A silo
   * database has no key store of its own: its tenant's key is the subgraph's, in the shared database.
   */
  keysDbNameFor?: (name: SubgraphName) => string;
}

export async function migrateSubgraphs(options: MigrateSubgraphsOptions): Promise<void> {
  const dbNameFor = options.dbNameFor ?? defaultDbName;
  for (const name of options.names ?? SUBGRAPH_NAMES) {
    const dbName = dbNameFor(name);
    const connection = await openDatabase({ mongoUri: options.mongoUri, dbName });
    try {
      const encryption = options.encryption ?? 'off';
      if (encryption !== 'off') {
        const keysDb = options.keysDbNameFor?.(name) ?? dbName;
        const keys = keysDb === dbName ? connection : connection.useDb(keysDb, { useCache: true });
        const { cipher } = openEncryption(keys, encryption);
        for (const spec of ENCRYPTED[name]) {
          const result = await reencryptCollection({ db: connection.db!, spec, cipher });
          options.onEncrypted?.(name, result);
        }
      }
      await registerModels(connection, MODELS[name], 'create');
    } finally {
      await connection.close();
    }
    options.onMigrated?.(name, dbName);
  }
}

export interface MigrateSiloOptions extends MigrateSubgraphsOptions {
  /** The silo tenant whose databases (one per subgraph, kit/placement.ts) get their collections and indexes. */
  tenantId: string;
}

/**
 * A silo tenant's databases, migrated like the shared ones: run when a silo tenant is created, before a move to
 * silo copies anything, and by `tollgate migrate` for every silo tenant (a running subgraph only verifies). With
 * encryption on, clear personal fields in them are sealed under the tenant's key from the shared database's store.
 */
export function migrateSilo(options: MigrateSiloOptions): Promise<void> {
  const base = options.dbNameFor ?? defaultDbName;
  return migrateSubgraphs({
    ...options,
    dbNameFor: (name) => siloDbName(base(name), options.tenantId),
    keysDbNameFor: base,
  });
}
