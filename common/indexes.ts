/**
 * Index creation as a deployment step. `tollgate migrate` (cli/migrate.ts) syncs the indexes of the control plane
 * and of every subgraph — creating what the schemas declare and dropping what they no longer do — with a database
 * user that may; runtime processes (the gateway, each subgraph) only check, with `listIndexes`, that what they
 * need exists, and refuse to start naming the command otherwise. So a runtime user needs no index rights, and two
 * versions running side by side during a rolling upgrade do not fight over indexes at every start.
 */
import type { Connection, Model } from 'mongoose';

/** `create`: sync the indexes (migrations, tests, the demo seeder). `verify`: check only (runtime processes). */
export type IndexMode = 'create' | 'verify';

/** What to run when indexes are missing: the message every refusing process prints. */
export const MIGRATE_COMMAND = 'tollgate migrate';
const MIGRATE_HINT =
  `run \`${MIGRATE_COMMAND}\` first (npm run --silent tollgate -- migrate; docker compose: the \`migrate\` service; ` +
  'Helm: the migrate hook Job) — `npm start` runs it itself';

export class IndexesMissingError extends Error {
  constructor(readonly missing: { database: string; collection: string; indexes: string[] }[]) {
    const list = missing.map((m) => `${m.database}.${m.collection} (${m.indexes.join(', ')})`).join('; ');
    super(`indexes missing in ${list}: ${MIGRATE_HINT}`);
    this.name = 'IndexesMissingError';
  }
}

/** Creates the indexes the models declare and drops those they no longer declare: the migration. */
export async function syncIndexes(connection: Connection): Promise<void> {
  for (const model of Object.values(connection.models)) await model.syncIndexes();
}

/**
 * Throws IndexesMissingError when a model's declared index is absent. Sends `listIndexes` only; an index that is
 * there but no longer declared (the previous version's, during a rolling upgrade) is left alone.
 */
export async function verifyIndexes(connection: Connection): Promise<void> {
  const missing: IndexesMissingError['missing'] = [];
  for (const model of Object.values(connection.models) as Model<unknown>[]) {
    const { toCreate } = await model.diffIndexes();
    if (toCreate.length === 0) continue;
    missing.push({
      database: connection.name,
      collection: model.collection.collectionName,
      indexes: toCreate.map((keys) =>
        Object.entries(keys as Record<string, unknown>)
          .map(([k, v]) => `${k}_${String(v)}`)
          .join('_'),
      ),
    });
  }
  if (missing.length > 0) throw new IndexesMissingError(missing);
}

export function ensureIndexes(connection: Connection, mode: IndexMode): Promise<void> {
  return mode === 'create' ? syncIndexes(connection) : verifyIndexes(connection);
}
