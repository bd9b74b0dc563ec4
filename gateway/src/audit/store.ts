/**
 * Where the audit trail lives: two collections in the control plane's database, `audit_events` and
 * `audit_checkpoints`, on a connection of the audit's own (a short server-selection timeout: an unreachable
 * MongoDB must turn into "spool" within a second or two, not hold the writer for 30 s).
 *
 * Ordering across replicas: the arbiter is the unique index on (tenant, seq) — and `_id` = `<tenant>:<seq>`, unique
 * by construction, so the arbiter holds even where an index is missing. A writer reads the head, chains its batch
 * from it and inserts; a duplicate key means another replica got there first: it re-reads the head, drops what of
 * its batch is already in (by event id), re-chains the rest and tries again. No `$inc` or conditional update is
 * used as a lock: FerretDB applies updates read-modify-write, and two replicas could both "win" one.
 */
import mongoose, { type Connection, type mongo } from 'mongoose';
import { chainEvent } from './chain';
import type { AuditEventInput, AuditEventType, AuditRecord, Checkpoint } from './event';

export const AUDIT_EVENTS = 'audit_events';
export const AUDIT_CHECKPOINTS = 'audit_checkpoints';

export interface AuditStoreOptions {
  mongoUri: string;
  dbName: string;
  /** How long an operation waits for a reachable MongoDB before failing (then the writer spools). */
  serverSelectionTimeoutMs?: number;
  /**
   * Told when the indexes could not be created (a runtime database user without the right): `tollgate migrate`
   * creates them. The trail still works without them — `_id` is the ordering arbiter — only reads are slower.
   */
  onIndexProblem?: (error: unknown) => void;
  /**
   * `create`: create the indexes (`tollgate migrate`, tests). `verify` (the default, every runtime process): only
   * check they exist and tell `onIndexProblem` when not — a runtime database user has no right to create them
   * (issue 15), and the chain's ordering does not depend on them: `_id` (`tenant:seq`) is unique on its own.
   */
  indexes?: 'create' | 'verify';
}

export interface AuditQuery {
  since?: Date;
  actor?: string;
  type?: AuditEventType;
  /** Records after this seq (pagination). */
  afterSeq?: number;
}

type EventDoc = AuditRecord & { _id: string };
type CheckpointDoc = Checkpoint & { _id?: unknown };

const MAX_APPEND_ATTEMPTS = 50;

export class AuditStore {
  private readonly events: mongo.Collection<EventDoc>;
  private readonly checkpointsCollection: mongo.Collection<CheckpointDoc>;
  /** Inserts that lost the race for a seq to another writer and were re-chained (for tests and diagnostics). */
  conflicts = 0;
  /** The last head this process wrote or read, per tenant: a hint, corrected by the unique index. */
  private readonly heads = new Map<string, { seq: number; hash: string }>();

  private constructor(readonly connection: Connection) {
    const db = connection.db;
    if (!db) throw new Error('audit store not connected');
    this.events = db.collection<EventDoc>(AUDIT_EVENTS);
    this.checkpointsCollection = db.collection<CheckpointDoc>(AUDIT_CHECKPOINTS);
  }

  static async open(options: AuditStoreOptions): Promise<AuditStore> {
    const connection = mongoose.createConnection(options.mongoUri, {
      dbName: options.dbName,
      bufferCommands: false,
      autoIndex: false,
      autoCreate: false,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 1_500,
    });
    try {
      await connection.asPromise();
      const store = new AuditStore(connection);
      try {
        if (options.indexes === 'create') await store.ensureIndexes();
        else await store.verifyIndexes();
      } catch (error) {
        if (!options.onIndexProblem) throw error;
        options.onIndexProblem(error);
      }
      return store;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** Idempotent; the unique (tenant, seq) index is the ordering arbiter (see the module comment). */
  async ensureIndexes(): Promise<void> {
    await this.events.createIndex({ tenant: 1, seq: 1 }, { unique: true, name: 'tenant_seq_unique' });
    await this.checkpointsCollection.createIndex({ tenant: 1, seq: 1 }, { name: 'tenant_seq' });
  }

  /** Throws, naming `tollgate migrate`, when an index `ensureIndexes` creates is missing. */
  async verifyIndexes(): Promise<void> {
    const names = async (collection: mongo.Collection<EventDoc> | mongo.Collection<CheckpointDoc>) => {
      try {
        return (await collection.listIndexes().toArray()).map((index) => String(index.name));
      } catch {
        return []; // the collection does not exist yet
      }
    };
    const missing = [
      ...((await names(this.events)).includes('tenant_seq_unique') ? [] : [`${AUDIT_EVENTS}.tenant_seq_unique`]),
      ...((await names(this.checkpointsCollection)).includes('tenant_seq') ? [] : [`${AUDIT_CHECKPOINTS}.tenant_seq`]),
    ];
    if (missing.length > 0)
      throw new Error(`the audit indexes ${missing.join(', ')} are missing: run \`tollgate migrate\``);
  }

  async head(tenant: string): Promise<{ seq: number; hash: string } | undefined> {
    const doc = await this.events
      .find({ tenant }, { projection: { seq: 1, hash: 1 } })
      .sort({ seq: -1 })
      .limit(1)
      .next();
    return doc ? { seq: doc.seq, hash: doc.hash } : undefined;
  }

  /**
   * Appends one tenant's events, in order, at the end of its chain; returns the new head. `maybePresent`: some may
   * have been written by an attempt that failed half-way (a replay): those are skipped, by id.
   */
  async append(
    tenant: string,
    events: readonly AuditEventInput[],
    maybePresent = false,
  ): Promise<AuditRecord | undefined> {
    let pending = maybePresent ? await this.withoutPresent(tenant, events) : [...events];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_APPEND_ATTEMPTS) throw new Error('audit append: the chain head kept moving');
      let head = this.heads.get(tenant) ?? (await this.head(tenant));
      const records: AuditRecord[] = [];
      for (const event of pending) {
        const record = chainEvent(event, head);
        records.push(record);
        head = record;
      }
      try {
        await this.events.insertMany(
          records.map((r) => ({ ...r, _id: `${tenant}:${r.seq}` })),
          { ordered: true },
        );
        const last = records[records.length - 1]!;
        this.heads.set(tenant, { seq: last.seq, hash: last.hash });
        return last;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        // Another replica took a seq we chained on: re-read the head, keep what of ours got in, re-chain the rest.
        this.heads.delete(tenant);
        this.conflicts++;
        pending = await this.withoutPresent(tenant, pending);
      }
    }
    return undefined;
  }

  private async withoutPresent(tenant: string, events: readonly AuditEventInput[]): Promise<AuditEventInput[]> {
    if (events.length === 0) return [];
    const present = new Set(
      (
        await this.events.find({ tenant, id: { $in: events.map((e) => e.id) } }, { projection: { id: 1 } }).toArray()
      ).map((doc) => doc.id),
    );
    return events.filter((e) => !present.has(e.id));
  }

  /** The tenant's records in ascending seq, streamed (verify, export). */
  async *records(tenant: string, query: AuditQuery = {}, batchSize = 500): AsyncGenerator<AuditRecord> {
    const cursor = this.events
      .find(filterOf(tenant, query), { projection: { _id: 0 } })
      .sort({ seq: 1 })
      .batchSize(batchSize);
    try {
      for await (const doc of cursor) yield doc as AuditRecord;
    } finally {
      await cursor.close();
    }
  }

  /** One page, ascending by seq (or the newest `limit` with `newest`). */
  async page(tenant: string, query: AuditQuery, limit: number, newest = false): Promise<AuditRecord[]> {
    const docs = await this.events
      .find(filterOf(tenant, query), { projection: { _id: 0 } })
      .sort({ seq: newest ? -1 : 1 })
      .limit(limit)
      .toArray();
    return (newest ? docs.reverse() : docs) as AuditRecord[];
  }

  async tenants(): Promise<string[]> {
    return (await this.events.distinct('tenant')).filter((t): t is string => typeof t === 'string');
  }

  async addCheckpoint(checkpoint: Checkpoint): Promise<void> {
    await this.checkpointsCollection.insertOne({ ...checkpoint });
  }

  async checkpoints(tenant: string): Promise<Checkpoint[]> {
    const docs = await this.checkpointsCollection
      .find({ tenant }, { projection: { _id: 0 } })
      .sort({ seq: 1 })
      .toArray();
    return docs as Checkpoint[];
  }

  /** The first record at or after `time` in seq order (the retention cut). */
  async firstAtOrAfter(tenant: string, time: Date): Promise<AuditRecord | undefined> {
    const doc = await this.events
      .find({ tenant, time: { $gte: time.toISOString() } }, { projection: { _id: 0 } })
      .sort({ seq: 1 })
      .limit(1)
      .next();
    return (doc as AuditRecord | null) ?? undefined;
  }

  async recordAt(tenant: string, seq: number): Promise<AuditRecord | undefined> {
    const doc = await this.events.findOne({ tenant, seq }, { projection: { _id: 0 } });
    return (doc as AuditRecord | null) ?? undefined;
  }

  /** Deletes up to `limit` records with seq ≤ `upTo`; returns how many (the retention job loops in bounded batches). */
  async deleteUpTo(tenant: string, upTo: number, limit: number): Promise<number> {
    const ids = (
      await this.events
        .find({ tenant, seq: { $lte: upTo } }, { projection: { _id: 1 } })
        .sort({ seq: 1 })
        .limit(limit)
        .toArray()
    ).map((doc) => doc._id);
    if (ids.length === 0) return 0;
    const { deletedCount } = await this.events.deleteMany({ _id: { $in: ids } });
    return deletedCount;
  }

  /** How many records the tenant's chain holds now (after any retention cut). */
  count(tenant: string): Promise<number> {
    return this.events.countDocuments({ tenant: String(tenant) });
  }

  /**
   * Tenant erasure (cli/lifecycle/erase.ts): deletes every record and checkpoint of the tenant's chain in batches of
   * `batchSize`, so no single delete holds the database; idempotent (a re-run deletes nothing). The head was sealed
   * in the platform's chain first. Returns how many of each.
   */
  async deleteChain(tenant: string, batchSize = 500): Promise<{ events: number; checkpoints: number }> {
    const inBatches = async (collection: mongo.Collection<mongo.Document>) => {
      let deleted = 0;
      for (;;) {
        // A string (`tenant:seq`) for records, an ObjectId for checkpoints: the driver matches either.
        const ids = (
          await collection
            .find({ tenant: String(tenant) }, { projection: { _id: 1 } })
            .limit(batchSize)
            .toArray()
        ).map((doc) => doc._id as mongo.ObjectId);
        if (ids.length === 0) return deleted;
        deleted += (await collection.deleteMany({ _id: { $in: ids } })).deletedCount;
      }
    };
    const events = await inBatches(this.events as unknown as mongo.Collection<mongo.Document>);
    this.heads.delete(tenant);
    // Checkpoints last: until the records are gone, a verifier still finds the chain's signed heads.
    const checkpoints = await inBatches(this.checkpointsCollection as unknown as mongo.Collection<mongo.Document>);
    return { events, checkpoints };
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

function filterOf(tenant: string, query: AuditQuery): mongo.Filter<EventDoc> {
  // Every value is typed (string, Date, enum, number) by the caller: no client JSON reaches this filter.
  const filter: mongo.Filter<EventDoc> = { tenant: String(tenant) };
  if (query.since) filter.time = { $gte: query.since.toISOString() };
  if (query.actor !== undefined) filter['actor.principal'] = String(query.actor);
  if (query.type !== undefined) filter.type = String(query.type) as AuditEventType;
  if (query.afterSeq !== undefined) filter.seq = { $gt: Math.trunc(query.afterSeq) };
  return filter;
}

function isDuplicateKey(error: unknown): boolean {
  const e = error as { code?: unknown; writeErrors?: { code?: unknown }[] | { code?: unknown } };
  if (e?.code === 11000) return true;
  const writeErrors = Array.isArray(e?.writeErrors) ? e.writeErrors : e?.writeErrors ? [e.writeErrors] : [];
  return writeErrors.some((w) => w?.code === 11000);
}
