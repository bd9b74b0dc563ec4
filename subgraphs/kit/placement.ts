/**
 * Where one request's documents live: the subgraph's shared database (`pooled`) or the tenant's own database
 * (`silo`), as the gateway's signed context says (common/internal-token.ts `plc`, from its tenant snapshot).
 *
 * A silo tenant is served by the same process and the same driver connection pool as every pooled tenant:
 * `connection.useDb(name, { useCache: true })` gives a connection object that shares the pool (without `useCache`
 * each call would add one that is never released), and the subgraph's models are compiled on it lazily, once, and
 * kept in a bounded LRU. The tenant plugin is on those models as on the pooled ones: inside a silo database every
 * query is still scoped to and asserted for the tenant in scope (defence in depth — a database holding another
 * tenant's documents still shows none of them).
 *
 * The placement epoch (bumped by every `tenant move` switch) guards the switch: once this process has seen a
 * tenant's request at epoch N, a request at an earlier epoch comes from a gateway replica that has not yet heard of
 * the switch and is refused (503 SERVICE_UNAVAILABLE, which the client retries) rather than served from the old
 * placement.
 */
import { LRUCache } from 'lru-cache';
import type { Connection } from 'mongoose';
import type { PlacementClaim } from '../../common/internal-token';
import { isTenantId } from '../../common/ids';
import type { IndexMode } from '../../common/indexes';
import { registerModels } from './database';
import { isTenantScoped } from './tenant-plugin';

/** Separates the subgraph's database name from the tenant id in a silo database's name. */
export const SILO_SEPARATOR = '__';
const DB_NAME_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * The silo database of `tenantId` beside the subgraph's shared database `baseDbName`: `tollgate_products__acme`.
 * Tenant ids are slugs (a-z, 0-9, inner hyphens), so the name is unambiguous; it must fit MongoDB's 63 characters.
 */
export function siloDbName(baseDbName: string, tenantId: string): string {
  if (!isTenantId(tenantId)) throw new Error('silo database: invalid tenant id');
  const name = `${baseDbName}${SILO_SEPARATOR}${tenantId}`;
  if (!DB_NAME_PATTERN.test(name) || baseDbName.includes(SILO_SEPARATOR))
    throw new Error(`silo database name ${name} is not a valid database name (at most 63 letters, digits, _ or -)`);
  return name;
}

export type Placement = PlacementClaim;
export const POOLED_PLACEMENT: Placement = Object.freeze({ tier: 'pooled', epoch: 0 });

/** The placement is older than one this process already served the tenant at. */
export class StalePlacementError extends Error {
  constructor() {
    super('stale tenant placement');
    this.name = 'StalePlacementError';
  }
}

export interface PlacementsOptions<TModels> {
  /** The subgraph's own connection, on its shared database. */
  connection: Connection;
  /** The models already compiled on `connection` (pooled tenants). */
  pooled: TModels;
  /** Compiles the subgraph's models on a connection (SubgraphDefinition.models). */
  build: (connection: Connection) => TModels;
  /** `verify` (runtime): a silo database must have its indexes (made by the CLI); `create` (tests) makes them. */
  indexes: IndexMode;
  /** How many silo databases keep their models compiled; the least recently used is released beyond. */
  maxSilos?: number;
  /** How many tenants' highest epochs are remembered; beyond, the oldest are forgotten (and accepted again). */
  maxEpochs?: number;
}

export interface Placements<TModels> {
  /** Checks the epoch against the highest seen for the tenant; throws StalePlacementError when older. */
  admit(tenantId: string, placement: Placement): void;
  /** The models that serve `tenantId` at `placement`. */
  modelsFor(tenantId: string, placement: Placement): Promise<TModels>;
  /** The connection those models are compiled on (the shared one, or the silo database's): the platform API's. */
  connectionFor(tenantId: string, placement: Placement): Promise<Connection>;
  /**
   * The tenant's silo database with the subgraph's models compiled on it, whatever the tenant's placement says, or
   * undefined when it has no collection (never made, or dropped). For erasure, which reaches every copy: a silo
   * database left by an interrupted move or a half-made one (indexes missing) is erased all the same, so its
   * indexes are not verified here. Not kept in the cache: `dropSilo` follows.
   */
  siloForErasure(tenantId: string): Promise<Connection | undefined>;
  /**
   * Drops the tenant's silo database when no document is left in it (of any tenant: one that holds another's is
   * kept, and said); forgets its compiled models either way. `absent` when there was none.
   */
  dropSilo(tenantId: string): Promise<'dropped' | 'absent' | 'not empty'>;
  /** How many silo databases have models compiled now (for tests and metrics). */
  readonly siloCount: number;
}

export const DEFAULT_MAX_SILOS = 1_000;
const DEFAULT_MAX_EPOCHS = 10_000;

interface Silo<TModels> {
  models: TModels;
  connection: Connection;
}

interface RelatedDbs {
  relatedDbs: Record<string, Connection | undefined>;
  otherDbs: Connection[];
}

export function createPlacements<TModels>(options: PlacementsOptions<TModels>): Placements<TModels> {
  const { connection, pooled, build, indexes } = options;
  const epochs = new LRUCache<string, number>({ max: options.maxEpochs ?? DEFAULT_MAX_EPOCHS });
  const silos = new LRUCache<string, Promise<Silo<TModels>>>({
    max: options.maxSilos ?? DEFAULT_MAX_SILOS,
    // Released from mongoose's useDb cache but not closed: a request still holding its models finishes on them
    // (the pool is the parent's), and the next request compiles them afresh on a new connection object.
    dispose: (_value, name) => release(name),
  });

  const release = (name: string) => {
    const related = connection as unknown as RelatedDbs;
    const db = related.relatedDbs[name];
    delete related.relatedDbs[name];
    if (db) related.otherDbs = related.otherDbs.filter((other) => other !== db);
  };

  const compile = async (name: string): Promise<Silo<TModels>> => {
    release(name);
    const db = connection.useDb(name, { useCache: true });
    return { models: await registerModels(db, build, indexes), connection: db };
  };

  const silo = (tenantId: string): Promise<Silo<TModels>> => {
    const name = siloDbName(connection.name, tenantId);
    let compiled = silos.get(name);
    if (!compiled) {
      compiled = compile(name);
      silos.set(name, compiled);
      // A failed compile (indexes missing, database down) is not cached: the next request tries again.
      const attempt = compiled;
      attempt.catch(() => {
        if (silos.peek(name) === attempt) silos.delete(name);
      });
    }
    return compiled;
  };

  // The raw driver, for what no model can answer: which collections the database has, and whether any document of
  // any tenant is left in it (the models see only the tenant in scope).
  const collectionNames = async (name: string) =>
    (await connection.getClient().db(name).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);

  return {
    admit(tenantId, placement) {
      const seen = epochs.get(tenantId);
      if (seen !== undefined && placement.epoch < seen) throw new StalePlacementError();
      if (seen === undefined || placement.epoch > seen) epochs.set(tenantId, placement.epoch);
    },
    modelsFor(tenantId, placement) {
      if (placement.tier === 'pooled') return Promise.resolve(pooled);
      return silo(tenantId).then((compiled) => compiled.models);
    },
    connectionFor(tenantId, placement) {
      if (placement.tier === 'pooled') return Promise.resolve(connection);
      return silo(tenantId).then((compiled) => compiled.connection);
    },
    async siloForErasure(tenantId) {
      const name = siloDbName(connection.name, tenantId);
      if ((await collectionNames(name)).length === 0) return undefined;
      silos.delete(name);
      release(name);
      const db = connection.useDb(name, { useCache: true });
      build(db);
      for (const [model, compiled] of Object.entries(db.models))
        if (!isTenantScoped(compiled)) throw new Error(`model ${model} is not tenant-scoped`);
      return db;
    },
    async dropSilo(tenantId) {
      const name = siloDbName(connection.name, tenantId);
      silos.delete(name);
      release(name);
      const names = await collectionNames(name);
      if (names.length === 0) return 'absent';
      const db = connection.getClient().db(name);
      for (const collection of names)
        if ((await db.collection(collection).countDocuments({}, { limit: 1 })) > 0) return 'not empty';
      await db.dropDatabase();
      return 'dropped';
    },
    get siloCount() {
      return silos.size;
    },
  };
}
