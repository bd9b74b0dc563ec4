/**
 * Sharding-readiness of every mongoose model, subgraphs and control plane: on a sharded cluster a unique index is
 * only enforced cluster-wide when it is prefixed by the shard key, so every unique index must start with
 * `tenantId` (the subgraphs shard on `{ tenantId: 1 }` or `{ tenantId: 1, _id: 1 }`), and every collection that
 * cannot be sharded that way is listed below with the reason. README "Deploying" → "MongoDB at scale" writes the
 * shard keys down; this test keeps the two honest.
 */
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection, type Model } from 'mongoose';
import { openControlPlane, type ControlPlane } from '../gateway/src/control-plane/open';
import { accounts, inventory, products, reviews } from '../subgraphs/definitions';
import { TENANT_PATH } from '../subgraphs/kit/tenant-plugin';

/** Control-plane collections that stay unsharded (they live on the database's primary shard), and why. */
const UNSHARDED: Record<string, string> = {
  // One small document per tenant, keyed by the tenant id itself: `_id` is the tenant.
  Tenant: 'one document per tenant; _id is the tenant id',
  // One document per erased tenant, keyed by its pseudonym (no tenant id by design: tenants/erased.ts).
  ErasedTenant: 'one small document per erased tenant; _id is its pseudonym, nothing names the tenant',
  // A handful of plan documents shared by all tenants.
  Plan: 'a few documents shared by every tenant',
  // Looked up by key id (`_id`) on every API-key request before the tenant is known.
  ApiKey: 'looked up by its _id (the key id) before the tenant is known; small',
  // Published supergraph versions: a few documents for the whole platform, keyed by the SDL's hash.
  Supergraph: 'a few versions shared by every tenant; _id is the SDL hash',
};

type IndexSpec = [Record<string, unknown>, Record<string, unknown>];

function uniqueIndexes(model: Model<unknown>): IndexSpec[] {
  return (model.schema.indexes() as IndexSpec[]).filter(([, options]) => options.unique === true);
}

function modelsOf(connection: Connection): Model<unknown>[] {
  return Object.values(connection.models) as Model<unknown>[];
}

describe('subgraph models', () => {
  // Compiled on a connection that never connects: only the schemas are inspected.
  const connection = mongoose.createConnection();
  for (const definition of [accounts, products, inventory, reviews]) definition.models(connection);
  const models = modelsOf(connection);
  afterAll(() => connection.close());

  it('exist (all four subgraphs)', () => {
    expect(models.length).toBeGreaterThanOrEqual(4);
  });

  it.each(models.map((m) => [m.modelName, m] as const))(
    '%s declares the tenant shard key and prefixes every unique index with it',
    (_name, model) => {
      expect(model.schema.get('shardKey')).toEqual({ [TENANT_PATH]: 1 });
      for (const [fields] of uniqueIndexes(model)) expect(Object.keys(fields)[0]).toBe(TENANT_PATH);
      // The index the shard key { tenantId: 1, _id: 1 } needs exists.
      expect(
        (model.schema.indexes() as IndexSpec[]).some(
          ([fields]) => Object.keys(fields).join(',') === `${TENANT_PATH},_id`,
        ),
      ).toBe(true);
    },
  );
});

describe('control-plane models', () => {
  let controlPlane: ControlPlane;
  let models: Model<unknown>[];

  beforeAll(async () => {
    const dbName = `tollgate_control_shard_${randomBytes(6).toString('hex')}`;
    controlPlane = await openControlPlane({ mongoUri: process.env.TEST_MONGODB_URI ?? '', dbName });
    // The control plane keeps its connection private; mongoose lists every connection it made.
    const connection = mongoose.connections.find((c) => c.name === dbName);
    if (!connection) throw new Error('the control-plane connection was not found');
    models = modelsOf(connection);
  });
  afterAll(async () => {
    await controlPlane?.dropDatabase();
    await controlPlane?.close();
  });

  it('prefix every unique index with tenantId, or are documented as unsharded with a reason', () => {
    expect(models.map((m) => m.modelName).sort()).toEqual([
      'ApiKey',
      'ErasedTenant',
      'PersistedManifest',
      'Plan',
      'Supergraph',
      'Tenant',
      'Usage',
    ]);
    for (const model of models) {
      const unprefixed = uniqueIndexes(model).filter(([fields]) => Object.keys(fields)[0] !== TENANT_PATH);
      if (unprefixed.length > 0 || !model.schema.path(TENANT_PATH)) {
        expect([model.modelName, UNSHARDED[model.modelName]]).toEqual([model.modelName, expect.any(String)]);
      }
    }
    // No stale exception: each names a model that exists and has no tenant-prefixed unique index of its own.
    for (const name of Object.keys(UNSHARDED)) expect(models.map((m) => m.modelName)).toContain(name);
    // Manifests are per tenant and sharded on { tenantId: 1 }: their unique index starts with it.
    const manifest = models.find((m) => m.modelName === 'PersistedManifest')!;
    expect(uniqueIndexes(manifest).map(([fields]) => Object.keys(fields))).toEqual([
      [TENANT_PATH, 'client', 'version'],
    ]);
  });
});
