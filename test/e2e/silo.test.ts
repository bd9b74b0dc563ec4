/**
 * Isolation tiers (issue 18 acceptance 1, first half): a pooled tenant (acme, the demo's) and a silo tenant
 * (umbrella) served by the same four subgraph processes through the same gateway, each seeing only its own data;
 * the silo tenant's documents are in its own databases and none in the shared ones; inside a silo database the
 * tenant plugin still shows only the tenant's own documents.
 */
import mongoose, { type Connection } from 'mongoose';
import { SUBGRAPH_NAMES } from '../../subgraphs/catalog';
import { siloDbName } from '../../subgraphs/kit/placement';
import { migrateSilo } from '../../subgraphs/migrate';
import { startRealPlatform, type RealPlatform } from './platform';

const SILO = 'umbrella';
let platform: RealPlatform;
let raw: Connection;
let acmeStaff: string;
let siloStaff: string;
const mongoUri = () => process.env.TEST_MONGODB_URI!;

const PRODUCTS = '{ products(first: 100) { edges { node { id sku name inStock quantity } } } }';
const CREATE = 'mutation($input: CreateProductInput!) { createProduct(input: $input) { id sku } }';
const STOCK = 'mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { id quantity } }';
const REVIEW = 'mutation($input: AddReviewInput!) { addReview(input: $input) { id body } }';

async function skus(token: string): Promise<string[]> {
  const result = await platform.graphql(token, PRODUCTS);
  expect(result.body.errors).toBeUndefined();
  const edges = (result.body.data?.products as { edges: { node: { sku: string } }[] }).edges;
  return edges.map((edge) => edge.node.sku).sort();
}

beforeAll(async () => {
  platform = await startRealPlatform({
    prepareControlPlane: async (controlPlane) => {
      await controlPlane.tenants.createTenant({ id: SILO, name: 'Umbrella', plan: 'enterprise', isolation: 'silo' });
    },
  });
  // What `tollgate tenant create --isolation silo` does after registering the tenant.
  await migrateSilo({ mongoUri: mongoUri(), tenantId: SILO, dbNameFor: (name) => platform.dbNameFor(name) });
  raw = await mongoose.createConnection(mongoUri()).asPromise();
  acmeStaff = await platform.token('acme', 'staff');
  siloStaff = await platform.token(SILO, 'staff');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  if (raw) {
    for (const name of SUBGRAPH_NAMES)
      await raw.useDb(siloDbName(platform.dbNameFor(name), SILO), { useCache: true }).dropDatabase();
    await raw.close();
  }
});

describe('a pooled and a silo tenant on the same subgraph processes', () => {
  let siloProductId: string;
  let acmeBefore: string[];

  it('writes the silo tenant through three subgraphs into its own databases', async () => {
    acmeBefore = await skus(acmeStaff);
    expect(acmeBefore.length).toBeGreaterThan(0);
    expect(await skus(siloStaff)).toEqual([]);

    for (const sku of ['UMB-1', 'UMB-2', 'UMB-3']) {
      const created = await platform.graphql(siloStaff, CREATE, {
        input: { sku, name: `Umbrella ${sku}`, price: 1_000, weight: 300 },
      });
      expect(created.body.errors).toBeUndefined();
      siloProductId ??= (created.body.data?.createProduct as { id: string }).id;
    }
    const stocked = await platform.graphql(siloStaff, STOCK, { id: siloProductId, delta: 7 });
    expect(stocked.body.errors).toBeUndefined();
    const reviewed = await platform.graphql(siloStaff, REVIEW, {
      input: { productId: siloProductId, rating: 5, body: 'umbrella-only review body' },
    });
    expect(reviewed.body.errors).toBeUndefined();
    const pooledWrite = await platform.graphql(acmeStaff, CREATE, {
      input: { sku: 'ACME-POOLED-1', name: 'Acme pooled', price: 500, weight: 100 },
    });
    expect(pooledWrite.body.errors).toBeUndefined();
  });

  it('shows each tenant only its own data', async () => {
    expect(await skus(siloStaff)).toEqual(['UMB-1', 'UMB-2', 'UMB-3']);
    expect(await skus(acmeStaff)).toEqual([...acmeBefore, 'ACME-POOLED-1'].sort());
    const silo = await platform.graphql(siloStaff, PRODUCTS);
    const stocked = (silo.body.data?.products as { edges: { node: { id: string; quantity: number } }[] }).edges.find(
      (edge) => edge.node.id === siloProductId,
    );
    expect(stocked?.node.quantity).toBe(7);
    // A silo product id is another tenant's object for acme: indistinguishable from a missing one.
    const probe = await platform.graphql(acmeStaff, 'query($id: ID!) { product(id: $id) { id } }', {
      id: siloProductId,
    });
    expect(probe.body.data?.product).toBeNull();
    expect(probe.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(probe.text).not.toContain('UMB-');
  });

  it("keeps the silo tenant's documents in its own databases and none in the shared ones", async () => {
    const count = async (db: string, collection: string, filter: Record<string, unknown>) =>
      raw.useDb(db, { useCache: true }).collection(collection).countDocuments(filter);
    const products = siloDbName(platform.dbNameFor('products'), SILO);
    const inventory = siloDbName(platform.dbNameFor('inventory'), SILO);
    const reviews = siloDbName(platform.dbNameFor('reviews'), SILO);
    expect(await count(products, 'products', {})).toBe(3);
    expect(await count(products, 'products', { tenantId: SILO })).toBe(3);
    expect(await count(inventory, 'stock', { tenantId: SILO })).toBeGreaterThan(0);
    expect(await count(reviews, 'reviews', { tenantId: SILO })).toBe(1);
    for (const name of SUBGRAPH_NAMES) {
      const shared = raw.useDb(platform.dbNameFor(name), { useCache: true });
      for (const { name: collection } of await shared.listCollections()) {
        expect(await shared.collection(collection).countDocuments({ tenantId: SILO })).toBe(0);
      }
    }
    // Acme's write went to the shared database, none to the silo one.
    expect(await count(platform.dbNameFor('products'), 'products', { sku: 'ACME-POOLED-1', tenantId: 'acme' })).toBe(1);
    expect(await count(products, 'products', { tenantId: 'acme' })).toBe(0);
  });

  it("shows nothing of a foreign document planted in the silo database (the tenant plugin's assertion)", async () => {
    const products = raw.useDb(siloDbName(platform.dbNameFor('products'), SILO), { useCache: true });
    await products
      .collection('products')
      .insertOne({ tenantId: 'acme', sku: 'PLANTED-1', name: 'planted', price: 1, weight: 1 });
    expect(await skus(siloStaff)).toEqual(['UMB-1', 'UMB-2', 'UMB-3']);
    await products.collection('products').deleteOne({ sku: 'PLANTED-1' });
  });
});
