import { Types, type Connection } from 'mongoose';
import { userIdFor } from '../common/ids';
import type { SubgraphName } from '../subgraphs/catalog';
import { products as productsDefinition } from '../subgraphs/definitions';
import { openDatabase } from '../subgraphs/kit/database';
import { encryptionOptionsOf, openEncryption } from '../subgraphs/kit/encryption';
import { readEncryptionSettings } from '../common/master-key';
import { inTenant, startTestSubgraph, testMongoUri, uniqueDbName, userCaller } from '../subgraphs/kit/testing';
import {
  DEMO_TENANTS,
  DEMO_USERS,
  SHARED_PRODUCT_NAME,
  SHARED_SKU,
  demoProductId,
  seedDemoTenants,
  type DemoTenant,
} from './subgraph-data';

const prefix = uniqueDbName('seed');
const dbNameFor = (name: SubgraphName) => `${prefix}_${name}`;
const connections = new Map<SubgraphName, Connection>();

/** The raw collection, read without the models: what the seeder actually stored. */
async function raw(name: SubgraphName, collection: string): Promise<Record<string, unknown>[]> {
  return connections.get(name)!.db!.collection(collection).find({}).toArray();
}

async function counts(): Promise<number[]> {
  return Promise.all(
    (
      [
        ['accounts', 'users'],
        ['products', 'products'],
        ['inventory', 'stock'],
        ['reviews', 'reviews'],
      ] as const
    ).map(async ([name, collection]) => (await raw(name, collection)).length),
  );
}

beforeAll(async () => {
  for (const name of ['accounts', 'products', 'inventory', 'reviews'] as const) {
    connections.set(name, await openDatabase({ mongoUri: testMongoUri(), dbName: dbNameFor(name) }));
  }
});

afterAll(async () => {
  for (const connection of connections.values()) {
    await connection.dropDatabase();
    await connection.close();
  }
});

test('seeds once: a second run changes nothing', async () => {
  expect(await seedDemoTenants({ mongoUri: testMongoUri(), dbNameFor })).toEqual({ seeded: true });
  const first = await counts();
  expect(first).toEqual([6, 24, 24, 7]);
  expect(await seedDemoTenants({ mongoUri: testMongoUri(), dbNameFor })).toEqual({ seeded: false });
  expect(await counts()).toEqual(first);
});

test('an interrupted seed is completed without duplicates', async () => {
  const users = connections.get('accounts')!.db!.collection('users');
  expect(
    (await users.deleteOne({ _id: new Types.ObjectId(userIdFor('acme', DEMO_USERS.acme.admin)) })).deletedCount,
  ).toBe(1);
  const before = await counts();
  expect(await seedDemoTenants({ mongoUri: testMongoUri(), dbNameFor })).toEqual({ seeded: true });
  const after = await counts();
  expect(after).toEqual([before[0]! + 1, ...before.slice(1)]);
});

test('the tenants’ data is disjoint, with a SKU and a product name in both', async () => {
  const productsByTenant = new Map<DemoTenant, Record<string, unknown>[]>();
  const allProducts = await raw('products', 'products');
  for (const tenant of DEMO_TENANTS)
    productsByTenant.set(
      tenant,
      allProducts.filter((p) => p.tenantId === tenant),
    );
  const ids = (tenant: DemoTenant) => new Set(productsByTenant.get(tenant)!.map((p) => String(p._id)));
  expect(ids('acme').size).toBe(12);
  expect(ids('globex').size).toBe(12);
  expect([...ids('acme')].filter((id) => ids('globex').has(id))).toEqual([]);
  for (const tenant of DEMO_TENANTS) {
    expect(productsByTenant.get(tenant)!.find((p) => p.sku === SHARED_SKU)).toMatchObject({
      name: SHARED_PRODUCT_NAME,
      _id: expect.anything(),
    });
  }
  expect(demoProductId('acme', SHARED_SKU)).not.toBe(demoProductId('globex', SHARED_SKU));

  for (const stock of await raw('inventory', 'stock'))
    expect(ids(stock.tenantId as DemoTenant).has(String(stock.productId))).toBe(true);
  for (const review of await raw('reviews', 'reviews')) {
    const tenant = review.tenantId as DemoTenant;
    expect(ids(tenant).has(String(review.productId))).toBe(true);
    expect(Object.values(DEMO_USERS[tenant]).map((email) => userIdFor(tenant, email))).toContain(
      String(review.authorId),
    );
  }
  // Stored sealed under the environment's master key (the seeder's default, as the subgraphs'): opened here.
  const { cipher } = openEncryption(
    connections.get('accounts')!,
    encryptionOptionsOf(readEncryptionSettings(process.env, [])),
  );
  const users = await Promise.all(
    (await raw('accounts', 'users')).map(async (u) => ({
      _id: u._id,
      tenantId: u.tenantId as string,
      email: await cipher.open(u.tenantId as string, 'users.email', u.email as string),
      sealed: u.email,
    })),
  );
  for (const tenant of DEMO_TENANTS) {
    const emails = users.filter((u) => u.tenantId === tenant).map((u) => u.email);
    expect(emails.sort()).toEqual(Object.values(DEMO_USERS[tenant]).sort());
  }
  for (const user of users) {
    expect(String(user._id)).toBe(userIdFor(user.tenantId, user.email));
    expect(user.sealed).toMatch(/^v1:1:/);
  }
});

test('the seeded data is read back through the models only within its tenant', async () => {
  const { Product } = productsDefinition.models(connections.get('products')!);
  expect(await inTenant('acme', () => Product.countDocuments({}).exec())).toBe(12);
  expect(await inTenant('acme', () => Product.findById(demoProductId('globex', SHARED_SKU)).exec())).toBeNull();
});

test('a subgraph serving the seeded database shows each tenant its own catalogue', async () => {
  const sg = await startTestSubgraph(productsDefinition, { dbName: dbNameFor('products') });
  try {
    for (const tenant of DEMO_TENANTS) {
      const res = await sg.request('{ products(first: 100) { edges { node { id sku } } } }', {
        as: userCaller(tenant, DEMO_USERS[tenant].customer, ['customer']),
      });
      const nodes = (res.body.data?.products as { edges: { node: { id: string; sku: string } }[] }).edges.map(
        (edge) => edge.node,
      );
      expect(nodes).toHaveLength(12);
      expect(nodes.every((node) => node.id === demoProductId(tenant, node.sku))).toBe(true);
    }
  } finally {
    await sg.stop();
  }
});
