/**
 * Published supergraphs in the control plane (collection `supergraphs`): one document per distinct SDL, its id the
 * SHA-256 of the SDL, and when it was last published. The served one is the most recently published; publishing an
 * earlier SDL again makes it current again (a rollback is a publish). Every publish is announced (kind
 * `supergraph`, id the version) so every gateway replica fetches it and switches (supergraph/sources.ts).
 *
 * No secondary index: the collection holds one document per schema version, a handful in practice, and the gateway
 * reads only the newest id (sorted by `publishedAt`) — so `tollgate migrate` has nothing to create for it.
 */
import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { RegistryValidationError, STRICT_SCHEMA_OPTIONS } from '../control-plane/registry-common';
import type { ChangePublisher } from '../tenants/changes';

/** Bytes of SDL a published supergraph may have (Tollgate's own is about 20 KiB; MongoDB's limit is 16 MiB). */
export const MAX_SUPERGRAPH_BYTES = 4 * 1024 * 1024;

const VERSION_ID = /^[0-9a-f]{64}$/;

/** A supergraph version's id: the SHA-256 (hex) of its SDL, as @apollo/gateway and the metrics name it. */
export function supergraphId(sdl: string): string {
  return createHash('sha256').update(sdl).digest('hex');
}

export function isSupergraphId(value: unknown): value is string {
  return typeof value === 'string' && VERSION_ID.test(value);
}

export interface SupergraphVersion {
  readonly id: string;
  readonly sdl: string;
  /** The latest time it was published. */
  readonly publishedAt: Date;
  /** How many times it was published (a rollback publishes an earlier one again). */
  readonly publications: number;
}

interface SupergraphDoc {
  _id: string;
  sdl: string;
  publishedAt: Date;
  publications: number;
}

function supergraphModel(connection: Connection): Model<SupergraphDoc> {
  const schema = new Schema<SupergraphDoc>(
    {
      _id: { type: String, required: true },
      sdl: { type: String, required: true },
      publishedAt: { type: Date, required: true },
      publications: { type: Number, required: true },
    },
    { ...STRICT_SCHEMA_OPTIONS, collection: 'supergraphs' },
  );
  return connection.model<SupergraphDoc>('Supergraph', schema);
}

const toVersion = (doc: SupergraphDoc): SupergraphVersion => ({
  id: doc._id,
  sdl: doc.sdl,
  publishedAt: doc.publishedAt,
  publications: doc.publications,
});

export class SupergraphRegistry {
  private readonly supergraphs: Model<SupergraphDoc>;

  constructor(
    connection: Connection,
    private readonly changes: ChangePublisher | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.supergraphs = supergraphModel(connection);
  }

  /**
   * Stores `sdl` (already checked: supergraph/validate.ts) as the current supergraph and announces it. Publishing
   * the current one again changes nothing but its date.
   */
  async publish(sdl: string): Promise<SupergraphVersion> {
    if (Buffer.byteLength(sdl) > MAX_SUPERGRAPH_BYTES)
      throw new RegistryValidationError([`a supergraph may have at most ${MAX_SUPERGRAPH_BYTES} bytes`]);
    const id = supergraphId(sdl);
    // FerretDB applies updates read-modify-write: a concurrent publish of one SDL may count once, never lose it.
    const doc = await this.supergraphs
      .findOneAndUpdate(
        { _id: id },
        { $set: { sdl, publishedAt: new Date(this.now()) }, $inc: { publications: 1 } },
        { upsert: true, returnDocument: 'after', lean: true },
      )
      .exec();
    await this.changes?.publish({ kind: 'supergraph', id });
    return toVersion(doc as SupergraphDoc);
  }

  /** The current (most recently published) supergraph's id, without its SDL: what replicas poll. */
  async currentId(): Promise<string | undefined> {
    const doc = await this.supergraphs
      .findOne({}, { _id: 1 })
      .sort({ publishedAt: -1, _id: 1 })
      .lean<{ _id: string }>()
      .exec();
    return doc?._id;
  }

  async current(): Promise<SupergraphVersion | undefined> {
    const doc = await this.supergraphs.findOne({}).sort({ publishedAt: -1, _id: 1 }).lean<SupergraphDoc>().exec();
    return doc ? toVersion(doc) : undefined;
  }

  async get(id: string): Promise<SupergraphVersion | undefined> {
    if (!isSupergraphId(id)) return undefined;
    const doc = await this.supergraphs.findOne({ _id: id }).lean<SupergraphDoc>().exec();
    return doc ? toVersion(doc) : undefined;
  }

  /** Every published version, newest publication first, without their SDL. */
  async list(): Promise<Omit<SupergraphVersion, 'sdl'>[]> {
    const docs = await this.supergraphs
      .find({}, { sdl: 0 })
      .sort({ publishedAt: -1, _id: 1 })
      .lean<Omit<SupergraphDoc, 'sdl'>[]>()
      .exec();
    return docs.map((doc) => ({ id: doc._id, publishedAt: doc.publishedAt, publications: doc.publications }));
  }
}
