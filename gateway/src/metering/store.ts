/**
 * Usage rollups in MongoDB: the control-plane database's `usage` collection, one document per tenant × credential ×
 * hour, written by the rollup (rollup.ts) and read by reports (reader.ts, `tollgate usage`).
 *
 * Writes are idempotent and never `$inc`: FerretDB applies updates read-modify-write, so concurrent increments could
 * lose each other, and a rollup repeated (every replica runs one) would count twice. A rollup writes Redis's totals
 * for the hour with `$max` per field — the same value written twice is one write, two replicas writing one hour
 * agree, and a count never goes down when Redis lost an hour's hash and started it again (report.ts, `mergeCounts`).
 */
import { Schema, trusted, type Connection, type Model } from 'mongoose';
import { isTenantId } from '../../../common/ids';
import { STRICT_SCHEMA_OPTIONS } from '../control-plane/registry-common';
import { monthOfHour } from './buckets';
import type { HourUsage } from './report';

interface UsageDoc {
  _id: string;
  tenantId: string;
  /** `YYYY-MM`. */
  month: string;
  /** `YYYYMMDDHH`, UTC. */
  hour: string;
  credential: string;
  operations: number;
  costPoints: number;
  responseBytes: number;
  refusals: Record<string, number>;
}

/**
 * A month's read is bounded in time on the server too: the `usage` field runs it on a tenant admin's request, and a
 * report must not hold a database connection longer than an operation may take.
 */
export const MONTH_READ_TIMEOUT_MS = 5_000;

/** The collection's name: also what the CLI and the README call it. */
export const USAGE_COLLECTION = 'usage';

function usageModel(connection: Connection): Model<UsageDoc> {
  const schema = new Schema<UsageDoc>(
    {
      _id: { type: String, required: true },
      tenantId: { type: String, required: true },
      month: { type: String, required: true },
      hour: { type: String, required: true },
      credential: { type: String, required: true },
      operations: { type: Number, required: true },
      costPoints: { type: Number, required: true },
      responseBytes: { type: Number, required: true },
      refusals: { type: Schema.Types.Mixed, default: {} },
    },
    { ...STRICT_SCHEMA_OPTIONS, collection: USAGE_COLLECTION, minimize: false },
  );
  // Every read is one tenant's month.
  schema.index({ tenantId: 1, month: 1 });
  return connection.model<UsageDoc>('Usage', schema);
}

export class UsageStore {
  private readonly model: Model<UsageDoc>;

  constructor(connection: Connection) {
    this.model = usageModel(connection);
  }

  /** Writes hours of one tenant (idempotent, see above). */
  async writeHours(tenantId: string, hours: readonly HourUsage[]): Promise<void> {
    if (hours.length === 0) return;
    const operations = hours.map((h) => {
      const max: Record<string, number> = {
        operations: h.operations,
        costPoints: h.costPoints,
        responseBytes: h.responseBytes,
      };
      // Codes are checked where they are counted (meter.ts): capitals and `_`, never `.` or `$`.
      for (const [code, n] of Object.entries(h.refusals)) max[`refusals.${code}`] = n;
      return {
        updateOne: {
          filter: { _id: `${tenantId}:${h.hour}:${h.credential}` },
          update: {
            $max: max,
            $setOnInsert: { tenantId, month: monthOfHour(h.hour), hour: h.hour, credential: h.credential },
          },
          upsert: true,
        },
      };
    });
    // Unordered: one failed hour does not stop the others; the next rollup writes it again.
    await this.model.bulkWrite(operations as never, { ordered: false });
  }

  /**
   * Tenant erasure: deletes the tenant's rollups in batches of `batchSize` (one unbounded delete would hold the
   * database); returns how many.
   */
  async purgeTenant(tenantId: string, batchSize = 1_000): Promise<number> {
    if (!isTenantId(tenantId)) return 0;
    let deleted = 0;
    for (;;) {
      const ids = (await this.model.find({ tenantId }).select({ _id: 1 }).limit(batchSize).lean().exec()).map(
        (doc) => doc._id,
      );
      if (ids.length === 0) return deleted;
      deleted += (await this.model.deleteMany({ _id: trusted({ $in: ids }) }).exec()).deletedCount;
    }
  }

  /** The tenant's hours in `month` (YYYY-MM), streamed. */
  async *monthHours(tenantId: string, month: string): AsyncGenerator<HourUsage> {
    const cursor = this.model
      .find({ tenantId, month })
      .select({ hour: 1, credential: 1, operations: 1, costPoints: 1, responseBytes: 1, refusals: 1 })
      .maxTimeMS(MONTH_READ_TIMEOUT_MS)
      .lean()
      .cursor();
    for await (const doc of cursor) {
      yield {
        hour: doc.hour,
        credential: doc.credential,
        operations: doc.operations,
        costPoints: doc.costPoints,
        responseBytes: doc.responseBytes,
        refusals: { ...(doc.refusals ?? {}) },
      };
    }
  }
}
