/**
 * Demo data: two tenants, acme and globex, with disjoint data that deliberately collides where isolation could
 * fail — both sell a "Classic T-Shirt" under SKU TSHIRT-001, as different products with different ids.
 *
 * Everything is written through the subgraphs' own models inside each tenant's scope, so the tenant plugin stamps
 * and checks every document exactly as it does for requests. Ids are derived from tenant and natural key, and every
 * write is an insert-if-absent upsert, so seeding twice — or again after an interrupted run — changes nothing.
 */
import { createHash } from 'node:crypto';
import type { Connection } from 'mongoose';
import { userIdFor } from '../common/ids';
import type { SubgraphName } from '../subgraphs/catalog';
import { accounts, inventory, products, reviews } from '../subgraphs/definitions';
import { defaultDbName, openDatabase, registerModels } from '../subgraphs/kit/database';
import { runInScope } from '../subgraphs/kit/scope';
import { encryptionOptionsOf, openEncryption, type EncryptionOptions } from '../subgraphs/kit/encryption';
import { readEncryptionSettings } from '../common/master-key';
import { migrateSubgraphs } from '../subgraphs/migrate';
import type { UserRole } from '../subgraphs/accounts/models';

export const DEMO_TENANTS = ['acme', 'globex'] as const;
export type DemoTenant = (typeof DEMO_TENANTS)[number];

export const DEMO_USERS: Record<DemoTenant, Record<UserRole, string>> = {
  acme: { admin: 'admin@acme.test', staff: 'staff@acme.test', customer: 'customer@acme.test' },
  globex: { admin: 'admin@globex.test', staff: 'staff@globex.test', customer: 'customer@globex.test' },
};

/** Used by both tenants, for isolation tests that look products up by SKU or name. */
export const SHARED_SKU = 'TSHIRT-001';
export const SHARED_PRODUCT_NAME = 'Classic T-Shirt';

interface DemoProduct {
  sku: string;
  name: string;
  price: number;
  weight: number;
  costPrice: number;
  quantity: number;
}

const DEMO_PRODUCTS: Record<DemoTenant, DemoProduct[]> = {
  acme: [
    { sku: SHARED_SKU, name: SHARED_PRODUCT_NAME, price: 1999, weight: 180, costPrice: 650, quantity: 120 },
    { sku: 'HOODIE-001', name: 'Zip Hoodie', price: 4999, weight: 520, costPrice: 1800, quantity: 40 },
    { sku: 'MUG-001', name: 'Enamel Mug', price: 1299, weight: 310, costPrice: 300, quantity: 75 },
    { sku: 'CAP-001', name: 'Baseball Cap', price: 1799, weight: 95, costPrice: 420, quantity: 0 },
    { sku: 'SOCKS-003', name: 'Wool Socks, 3 Pairs', price: 2499, weight: 210, costPrice: 700, quantity: 60 },
    { sku: 'BOTTLE-001', name: 'Steel Water Bottle', price: 2899, weight: 340, costPrice: 900, quantity: 33 },
    { sku: 'NOTEBOOK-A5', name: 'Dotted Notebook A5', price: 1499, weight: 260, costPrice: 380, quantity: 210 },
    { sku: 'PEN-010', name: 'Gel Pen, 10 Pack', price: 999, weight: 120, costPrice: 210, quantity: 500 },
    { sku: 'TOTE-001', name: 'Canvas Tote Bag', price: 1599, weight: 230, costPrice: 400, quantity: 85 },
    { sku: 'STICKER-25', name: 'Sticker Pack', price: 599, weight: 40, costPrice: 90, quantity: 1000 },
    { sku: 'JACKET-001', name: 'Rain Jacket', price: 12900, weight: 640, costPrice: 5200, quantity: 12 },
    { sku: 'BACKPACK-001', name: 'Commuter Backpack', price: 10900, weight: 980, costPrice: 4100, quantity: 7 },
  ],
  globex: [
    { sku: SHARED_SKU, name: SHARED_PRODUCT_NAME, price: 2499, weight: 200, costPrice: 800, quantity: 15 },
    { sku: 'LAMP-100', name: 'Desk Lamp', price: 3999, weight: 1200, costPrice: 1500, quantity: 22 },
    { sku: 'CABLE-USBC', name: 'USB-C Cable, 2 m', price: 1299, weight: 70, costPrice: 250, quantity: 400 },
    { sku: 'CHARGER-65W', name: '65 W Charger', price: 4499, weight: 180, costPrice: 1900, quantity: 0 },
    { sku: 'MOUSE-001', name: 'Wireless Mouse', price: 2999, weight: 95, costPrice: 1100, quantity: 64 },
    { sku: 'KEYBOARD-001', name: 'Mechanical Keyboard', price: 11900, weight: 950, costPrice: 5400, quantity: 9 },
    { sku: 'STAND-001', name: 'Laptop Stand', price: 5499, weight: 1400, costPrice: 2000, quantity: 18 },
    { sku: 'HUB-7', name: '7-Port USB Hub', price: 3499, weight: 160, costPrice: 1200, quantity: 30 },
    { sku: 'WEBCAM-HD', name: 'HD Webcam', price: 6999, weight: 140, costPrice: 2900, quantity: 11 },
    { sku: 'HEADSET-001', name: 'Office Headset', price: 7999, weight: 260, costPrice: 3300, quantity: 26 },
    { sku: 'MAT-XL', name: 'XL Desk Mat', price: 2299, weight: 700, costPrice: 600, quantity: 48 },
    { sku: 'SPEAKER-001', name: 'Bluetooth Speaker', price: 8999, weight: 540, costPrice: 3600, quantity: 5 },
  ],
};

interface DemoReview {
  sku: string;
  author: UserRole;
  rating: number;
  body: string;
}

const DEMO_REVIEWS: Record<DemoTenant, DemoReview[]> = {
  acme: [
    { sku: SHARED_SKU, author: 'customer', rating: 5, body: 'Soft, fits well, survived thirty washes.' },
    { sku: SHARED_SKU, author: 'staff', rating: 4, body: 'Our best seller. Runs slightly large.' },
    { sku: 'MUG-001', author: 'customer', rating: 3, body: 'Looks great, gets hot to hold.' },
    { sku: 'JACKET-001', author: 'customer', rating: 5, body: 'Kept me dry on a very wet bike ride.' },
  ],
  globex: [
    { sku: SHARED_SKU, author: 'customer', rating: 2, body: 'Shrank after the first wash.' },
    { sku: 'KEYBOARD-001', author: 'customer', rating: 5, body: 'Crisp switches, solid case.' },
    { sku: 'LAMP-100', author: 'staff', rating: 4, body: 'Bright and even light; the clamp is a bit stiff.' },
  ],
};

const USER_NAMES: Record<UserRole, string> = { admin: 'Ada Admin', staff: 'Sam Staff', customer: 'Casey Customer' };

/** A stable id per tenant and natural key, so re-seeding upserts the same documents. */
function demoId(kind: string, tenant: DemoTenant, key: string): string {
  return createHash('sha256').update(`tollgate-demo:${kind}:${tenant}:${key}`).digest('hex').slice(0, 24);
}

export function demoProductId(tenant: DemoTenant, sku: string): string {
  return demoId('product', tenant, sku);
}

export function demoUserId(tenant: DemoTenant, role: UserRole): string {
  return userIdFor(tenant, DEMO_USERS[tenant][role]);
}

/** An insert-if-absent for bulkWrite: the filter names the document, `$setOnInsert` carries its fields. */
function insertIfAbsent(filter: Record<string, unknown>, fields: Record<string, unknown>) {
  return { updateOne: { filter, update: { $setOnInsert: fields }, upsert: true } };
}

function inDemoTenant<T>(tenant: DemoTenant, fn: () => Promise<T>): Promise<T> {
  return runInScope(
    { tenantId: tenant, principal: demoUserId(tenant, 'admin'), roles: ['admin'], requestId: `seed-${tenant}` },
    fn,
  );
}

export interface SeedOptions {
  mongoUri: string;
  /** Database of each subgraph; `tollgate_<name>` by default, as `subgraphs/run.ts` uses. */
  dbNameFor?: (name: SubgraphName) => string;
  /**
   * How personal fields are written — the subgraphs must read them with the same master key. Absent: from the
   * environment as the subgraphs read it (ENCRYPTION_AT_REST, ENCRYPTION_MASTER_KEY…, common/master-key.ts).
   */
  encryption?: EncryptionOptions;
}

function encryptionFromEnv(): EncryptionOptions {
  const problems: string[] = [];
  const settings = readEncryptionSettings(process.env, problems);
  if (problems.length > 0) throw new Error(`cannot seed: ${problems.join('; ')}`);
  return encryptionOptionsOf(settings);
}

export async function seedDemoTenants(options: SeedOptions): Promise<{ seeded: boolean }> {
  const dbNameFor = options.dbNameFor ?? defaultDbName;
  const encryption = options.encryption ?? encryptionFromEnv();
  // Databases seeded before encryption (a bench's or a developer's data directory) are brought up to date first:
  // their clear values sealed and the blind index built, as `tollgate migrate` does, before the indexes are synced.
  await migrateSubgraphs({ mongoUri: options.mongoUri, dbNameFor, encryption });
  const connections: Connection[] = [];
  const open = async <TModels>(name: SubgraphName, build: (connection: Connection) => TModels) => {
    const connection = await openDatabase({ mongoUri: options.mongoUri, dbName: dbNameFor(name) });
    connections.push(connection);
    // Each subgraph's keys live in its own database: values are sealed with that subgraph's tenant key.
    return { models: await registerModels(connection, build), cipher: openEncryption(connection, encryption).cipher };
  };
  try {
    const {
      models: { User },
      cipher: accountsCipher,
    } = await open('accounts', accounts.models);
    const {
      models: { Product },
    } = await open('products', products.models);
    const {
      models: { Stock },
    } = await open('inventory', inventory.models);
    const {
      models: { Review },
      cipher: reviewsCipher,
    } = await open('reviews', reviews.models);

    let written = 0;
    for (const tenant of DEMO_TENANTS) {
      written += await inDemoTenant(tenant, async () => {
        // The admin is written last: when it exists, an earlier run completed this tenant.
        if (await User.exists({ _id: demoUserId(tenant, 'admin') })) return 0;
        const productOps = DEMO_PRODUCTS[tenant].map(({ quantity: _quantity, ...product }) =>
          insertIfAbsent({ _id: demoProductId(tenant, product.sku) }, product),
        );
        const stockOps = DEMO_PRODUCTS[tenant].map((product) =>
          insertIfAbsent({ productId: demoProductId(tenant, product.sku) }, { quantity: product.quantity }),
        );
        const reviewOps = await Promise.all(
          DEMO_REVIEWS[tenant].map(async (review) =>
            insertIfAbsent(
              { _id: demoId('review', tenant, `${review.sku}:${review.author}`) },
              {
                productId: demoProductId(tenant, review.sku),
                authorId: demoUserId(tenant, review.author),
                rating: review.rating,
                body: await reviewsCipher.seal(tenant, 'reviews.body', review.body),
              },
            ),
          ),
        );
        const roles: UserRole[] = ['customer', 'staff', 'admin'];
        const userOps = await Promise.all(
          roles.map(async (role) => {
            const email = DEMO_USERS[tenant][role];
            return insertIfAbsent(
              { _id: demoUserId(tenant, role) },
              {
                name: await accountsCipher.seal(tenant, 'users.name', USER_NAMES[role]),
                email: await accountsCipher.seal(tenant, 'users.email', email),
                emailIndex: await accountsCipher.emailIndex(tenant, email),
                roles: [role],
                invitedAt: new Date('2024-01-01T00:00:00Z'),
              },
            );
          }),
        );
        const results = [
          await Product.bulkWrite(productOps),
          await Stock.bulkWrite(stockOps),
          await Review.bulkWrite(reviewOps),
          await User.bulkWrite(userOps),
        ];
        return results.reduce((sum, result) => sum + result.upsertedCount, 0);
      });
    }
    return { seeded: written > 0 };
  } finally {
    await Promise.all(connections.map((connection) => connection.close()));
  }
}

/** Every personal value of the demo tenants (addresses, names, review bodies): what must never be stored in clear. */
export function demoPersonalValues(): string[] {
  return DEMO_TENANTS.flatMap((tenant) => [
    ...Object.values(DEMO_USERS[tenant]),
    ...Object.values(USER_NAMES),
    ...DEMO_REVIEWS[tenant].map((review) => review.body),
  ]);
}
