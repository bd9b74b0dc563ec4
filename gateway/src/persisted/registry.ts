/**
 * Published manifests in the control plane (collection `persistedManifests`): per tenant and client, numbered
 * versions, the newest one not retired being the one served. Versions are never edited: a publish adds one, a
 * retire marks one, so what a gateway served at any moment can be told afterwards. Every write is announced
 * (kind `manifest`, id the tenant) so gateways drop what they cached for that tenant.
 *
 * Filters are built from validated ids only, and the schema throws on unknown paths.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { isTenantId } from '../../../common/ids';
import type { ChangePublisher } from '../tenants/changes';
import {
  RegistryError,
  RegistryValidationError,
  STRICT_SCHEMA_OPTIONS,
  type TenantLookup,
} from '../control-plane/registry-common';
import { isManifestName, type PersistedOperation, type PersistedQueryManifest } from './manifest';

export interface ManifestVersion {
  readonly tenantId: string;
  readonly client: string;
  readonly version: number;
  readonly operations: readonly PersistedOperation[];
  readonly publishedAt: Date;
  readonly retiredAt?: Date;
}

interface ManifestDoc {
  tenantId: string;
  client: string;
  version: number;
  operations: PersistedOperation[];
  publishedAt: Date;
  retiredAt?: Date | null;
}

/** MongoDB's duplicate-key error: a concurrent publish took the version number first. */
const DUPLICATE_KEY = 11000;
const PUBLISH_ATTEMPTS = 3;

function manifestModel(connection: Connection): Model<ManifestDoc> {
  const operation = new Schema<PersistedOperation>(
    {
      id: { type: String, required: true },
      name: { type: String, required: true },
      type: { type: String, required: true },
      body: { type: String, required: true },
    },
    { ...STRICT_SCHEMA_OPTIONS, _id: false },
  );
  const schema = new Schema<ManifestDoc>(
    {
      tenantId: { type: String, required: true },
      client: { type: String, required: true },
      version: { type: Number, required: true },
      operations: { type: [operation], required: true },
      publishedAt: { type: Date, required: true },
      retiredAt: { type: Date },
    },
    { ...STRICT_SCHEMA_OPTIONS, collection: 'persistedManifests' },
  );
  // Also what makes two concurrent publishes of one client end in different version numbers.
  schema.index({ tenantId: 1, client: 1, version: 1 }, { unique: true });
  return connection.model<ManifestDoc>('PersistedManifest', schema);
}

function checkScope(tenantId: string, client: string): void {
  const problems: string[] = [];
  if (!isTenantId(tenantId)) problems.push('tenant must be a tenant id such as "acme"');
  if (!isManifestName(client))
    problems.push('client must be a manifest name: letters, digits, ".", "_" or "-", up to 100');
  if (problems.length > 0) throw new RegistryValidationError(problems);
}

export class ManifestRegistry {
  private readonly manifests: Model<ManifestDoc>;

  constructor(
    connection: Connection,
    private readonly tenants: TenantLookup,
    private readonly changes: ChangePublisher | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.manifests = manifestModel(connection);
  }

  /** Stores `manifest` (already checked with `checkManifest`) as the client's next version. */
  async publish(tenantId: string, client: string, manifest: PersistedQueryManifest): Promise<ManifestVersion> {
    checkScope(tenantId, client);
    if (!(await this.tenants.getTenant(tenantId))) throw new RegistryError(`no tenant ${tenantId}`);
    for (let attempt = 1; ; attempt++) {
      const [latest] = await this.manifests
        .find({ tenantId, client })
        .sort({ version: -1 })
        .limit(1)
        .lean<ManifestDoc[]>()
        .exec();
      const doc: ManifestDoc = {
        tenantId,
        client,
        version: (latest?.version ?? 0) + 1,
        operations: manifest.operations.map(({ id, name, type, body }) => ({ id, name, type, body })),
        publishedAt: new Date(this.now()),
      };
      try {
        await this.manifests.create(doc);
      } catch (error) {
        if ((error as { code?: unknown }).code === DUPLICATE_KEY && attempt < PUBLISH_ATTEMPTS) continue;
        throw error;
      }
      await this.changes?.publish({ kind: 'manifest', id: tenantId });
      return toVersion(doc);
    }
  }

  /** Stops serving one version; the newest version still not retired (if any) is served instead. */
  async retire(tenantId: string, client: string, version: number): Promise<ManifestVersion> {
    checkScope(tenantId, client);
    if (!Number.isSafeInteger(version) || version < 1)
      throw new RegistryValidationError(['version must be a positive integer']);
    const retired = await this.manifests
      .findOneAndUpdate(
        { tenantId, client, version, retiredAt: null },
        { $set: { retiredAt: new Date(this.now()) } },
        { returnDocument: 'after' },
      )
      .lean<ManifestDoc>()
      .exec();
    if (retired) await this.changes?.publish({ kind: 'manifest', id: tenantId });
    const record = retired ?? (await this.manifests.findOne({ tenantId, client, version }).lean<ManifestDoc>().exec());
    if (!record) throw new RegistryError(`no version ${version} of manifest ${client} for tenant ${tenantId}`);
    return toVersion(record);
  }

  /**
   * Tenant erasure (`tollgate tenant erase`): retires every version still served (announced), then deletes every
   * version — their operation texts are the tenant's. Returns how many.
   */
  async purgeTenant(tenantId: string): Promise<{ retired: number; deleted: number }> {
    if (!isTenantId(tenantId)) return { retired: 0, deleted: 0 };
    let retired = 0;
    for (const version of await this.list(tenantId)) {
      if (!version.retiredAt) {
        await this.retire(tenantId, version.client, version.version);
        retired++;
      }
    }
    const { deletedCount } = await this.manifests.deleteMany({ tenantId }).exec();
    await this.changes?.publish({ kind: 'manifest', id: tenantId });
    return { retired, deleted: deletedCount };
  }

  /** The version gateways serve: the newest one not retired. */
  async served(tenantId: string, client: string): Promise<ManifestVersion | undefined> {
    if (!isTenantId(tenantId) || !isManifestName(client)) return undefined;
    const [doc] = await this.manifests
      .find({ tenantId, client, retiredAt: null })
      .sort({ version: -1 })
      .limit(1)
      .lean<ManifestDoc[]>()
      .exec();
    return doc && toVersion(doc);
  }

  async get(tenantId: string, client: string, version: number): Promise<ManifestVersion | undefined> {
    if (!isTenantId(tenantId) || !isManifestName(client) || !Number.isSafeInteger(version)) return undefined;
    const doc = await this.manifests.findOne({ tenantId, client, version }).lean<ManifestDoc>().exec();
    return doc ? toVersion(doc) : undefined;
  }

  /** Every version of the tenant's manifests, of one client when given, oldest first. */
  async list(tenantId: string, client?: string): Promise<ManifestVersion[]> {
    if (!isTenantId(tenantId) || (client !== undefined && !isManifestName(client))) return [];
    const docs = await this.manifests
      .find({ tenantId, ...(client === undefined ? {} : { client }) })
      .sort({ client: 1, version: 1 })
      .lean<ManifestDoc[]>()
      .exec();
    return docs.map(toVersion);
  }
}

function toVersion(doc: ManifestDoc): ManifestVersion {
  return Object.freeze({
    tenantId: doc.tenantId,
    client: doc.client,
    version: doc.version,
    operations: Object.freeze(
      doc.operations.map(({ id, name, type, body }) => Object.freeze({ id, name, type, body })),
    ),
    publishedAt: doc.publishedAt,
    ...(doc.retiredAt ? { retiredAt: doc.retiredAt } : {}),
  });
}
