/**
 * `tollgate migrate`: the deployment step that creates what the processes need in MongoDB — the control plane's
 * indexes and built-in plans, and every subgraph's indexes (common/indexes.ts). Runtime processes only check, and
 * refuse to start naming this command; `npm start`, the compose `migrate` service and the Helm hook Job run it.
 * Idempotent: run it before every upgrade. It imports the subgraphs' models only (subgraphs/migrate.ts).
 */
import { openControlPlane } from '../gateway/src/control-plane/open';
import { SUBGRAPH_NAMES, isSubgraphName, type SubgraphName } from '../subgraphs/catalog';
import { defaultDbName } from '../subgraphs/kit/database';
import { readEncryptionSettings } from '../common/master-key';
import { encryptionOptionsOf } from '../subgraphs/kit/encryption';
import { migrateSilo, migrateSubgraphs } from '../subgraphs/migrate';
import { openAuditStore } from './audit-record';
import { UsageError, list, string, type Command } from './command';

const CONTROL_PLANE = 'control-plane';
const TARGETS = [CONTROL_PLANE, ...SUBGRAPH_NAMES];
const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;

/** `--db accounts=shop_accounts,reviews=shop_reviews`: a subgraph's database when its MONGODB_DB is not the default. */
export function databases(value: string | undefined): Partial<Record<SubgraphName, string>> {
  const result: Partial<Record<SubgraphName, string>> = {};
  for (const entry of list(value ?? '')) {
    const [name, db] = entry.split('=');
    if (name === undefined || !isSubgraphName(name) || db === undefined || !DB_NAME.test(db)) {
      throw new UsageError(`--db takes <subgraph>=<database> pairs, subgraphs among ${SUBGRAPH_NAMES.join(', ')}`);
    }
    result[name] = db;
  }
  return result;
}

export const MIGRATE_COMMANDS: Record<string, Command> = {
  migrate: {
    usage: `migrate [--only <${TARGETS.join('|')}>,…] [--db <subgraph>=<database>,…]`,
    summary:
      "Creates the control plane's and every subgraph's indexes (dropping those no longer declared) and the built-in plans, and seals clear personal fields when encryption at rest is on (ENCRYPTION_AT_REST, ENCRYPTION_MASTER_KEY). Run before every start of a new version; runtime processes refuse to start without it.",
    options: { only: { type: 'string' }, db: { type: 'string' } },
    async run({ values, config, controlPlane, print, io }) {
      const only = string(values, 'only');
      const targets = only === undefined ? TARGETS : list(only);
      const unknown = targets.filter((t) => !TARGETS.includes(t));
      if (unknown.length > 0 || targets.length === 0) throw new UsageError(`--only takes ${TARGETS.join(', ')}`);
      const dbs = databases(string(values, 'db'));
      const { controlPlane: settings } = config();
      const migrated: { target: string; database: string }[] = [];
      if (targets.includes(CONTROL_PLANE)) {
        const controlPlane = await openControlPlane({
          mongoUri: settings.mongoUri,
          dbName: settings.dbName,
          indexes: 'create',
        });
        await controlPlane.close();
        // The audit trail's indexes, where the trail is kept (AUDIT_MONGODB_URI / AUDIT_DB, else here).
        await (await openAuditStore(io.env, settings, 'create')).close();
        migrated.push({ target: CONTROL_PLANE, database: settings.dbName });
      }
      const problems: string[] = [];
      const encryption = readEncryptionSettings(io.env, problems);
      if (problems.length > 0) throw new UsageError(problems.join('; '));
      const encrypted: { target: string; collection: string; scanned: number; sealed: number }[] = [];
      await migrateSubgraphs({
        encryption: encryptionOptionsOf(encryption),
        onEncrypted: (name, result) =>
          encrypted.push({
            target: name,
            collection: result.collection,
            scanned: result.scanned,
            sealed: result.updated,
          }),
        mongoUri: settings.mongoUri,
        names: SUBGRAPH_NAMES.filter((name) => targets.includes(name)),
        dbNameFor: (name) => dbs[name] ?? defaultDbName(name),
        onMigrated: (name, database) => migrated.push({ target: name, database }),
      });
      // Every silo tenant's own databases (subgraphs/kit/placement.ts), for the subgraphs migrated.
      const subgraphs = SUBGRAPH_NAMES.filter((name) => targets.includes(name));
      if (subgraphs.length > 0) {
        // An erased tenant has no record left (its tombstone is pseudonymous: cli/lifecycle/erase.ts), so its dropped
        // silo databases are not made again here.
        const silos = (await (await controlPlane()).tenants.listTenants()).filter((t) => t.isolation === 'silo');
        for (const tenant of silos) {
          await migrateSilo({
            mongoUri: settings.mongoUri,
            tenantId: tenant.id,
            names: subgraphs,
            // Sealed as in the shared databases, under the tenant's key kept there (subgraphs/migrate.ts).
            encryption: encryptionOptionsOf(encryption),
            onEncrypted: (name, result) =>
              encrypted.push({
                target: `${name} (silo ${tenant.id})`,
                collection: result.collection,
                scanned: result.scanned,
                sealed: result.updated,
              }),
            dbNameFor: (name) => dbs[name] ?? defaultDbName(name),
            onMigrated: (name, database) => migrated.push({ target: `${name} (silo ${tenant.id})`, database }),
          });
        }
      }
      // JSON keeps its shape (one entry per database); the counts of sealed documents are in the text.
      print(migrated, () =>
        [
          ...encrypted.map(
            (e) => `encrypted ${e.target}.${e.collection}: ${e.sealed} of ${e.scanned} documents sealed`,
          ),
          ...migrated.map((m) => `migrated ${m.target} (${m.database})`),
        ].join('\n'),
      );
    },
  },
};
