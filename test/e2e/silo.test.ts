/**
 * Isolation tiers (issue 18 acceptance 1, first half): a pooled tenant (acme, the demo's) and a silo tenant
 * (umbrella) served by the same four subgraph processes through the same gateway, each seeing only its own data;
 * the silo tenant's documents are in its own databases and none in the shared ones; inside a silo database the
 * tenant plugin still shows only the tenant's own documents. Then the silo tenant's data lifecycle (below).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { userIdFor } from '../../common/ids';
import { SUBGRAPH_NAMES } from '../../subgraphs/catalog';
import { siloDbName } from '../../subgraphs/kit/placement';
import { migrateSilo } from '../../subgraphs/migrate';
import { openControlPlane, type ControlPlane } from '../../gateway/src/control-plane/open';
import { cliEnvFor, runCli } from './cli';
import { startRealPlatform, type RealPlatform } from './platform';

jest.setTimeout(120_000);

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

/**
 * The data lifecycle of a silo tenant through the subgraphs' platform API (cli/lifecycle/, the CLI in-process):
 * export from its own databases, re-import into a pooled and a silo tenant with the same checksums, retention in
 * its own databases, a tenant being moved refused with a code, and an erasure that leaves no document with its id
 * in any database and drops its silo databases.
 */
describe('the data lifecycle of a silo tenant', () => {
  const run = randomBytes(3).toString('hex');
  const pooledCopy = `umb-pooled-${run}`;
  const siloCopy = `umb-silo-${run}`;
  const mover = `umb-move-${run}`;
  const work = mkdtempSync(join(tmpdir(), 'tollgate-silo-'));
  const file = join(work, 'umbrella.ndjson');
  const DAY = 86_400_000;
  let env: NodeJS.ProcessEnv;
  let controlPlane: ControlPlane;
  const tollgate = (args: string[]) => runCli(env, args);
  /** What every database name of this platform starts with. */
  const prefix = () => platform.dbNameFor('control').slice(0, -'control'.length);
  const dbOption = () => SUBGRAPH_NAMES.map((name) => `${name}=${platform.dbNameFor(name)}`).join(',');
  const silosOf = (tenant: string) => SUBGRAPH_NAMES.map((name) => siloDbName(platform.dbNameFor(name), tenant));
  /** The platform's databases that exist now (the shared ones, the control plane's, every silo). */
  const databases = async () =>
    (await raw.getClient().db().admin().listDatabases({ nameOnly: true })).databases
      .map((d) => d.name)
      .filter((name) => name.startsWith(prefix()));
  /** The tenant's documents in `dbs`, every collection of each. */
  async function documentsOf(tenant: string, dbs: string[]): Promise<number> {
    let count = 0;
    for (const name of dbs) {
      const db = raw.getClient().db(name);
      for (const { name: collection } of await db.listCollections({}, { nameOnly: true }).toArray())
        count += await db.collection(collection).countDocuments({ tenantId: tenant });
    }
    return count;
  }

  beforeAll(async () => {
    env = cliEnvFor(platform);
    controlPlane = await openControlPlane({ mongoUri: mongoUri(), dbName: platform.controlDbName });
  });
  afterAll(async () => {
    await controlPlane?.close();
    for (const name of silosOf(siloCopy)) await raw.getClient().db(name).dropDatabase();
    rmSync(work, { recursive: true, force: true });
  });

  it('exports it from its own databases and re-imports it into a pooled and a silo tenant with the same checksums', async () => {
    // A user too, so the sealed personal fields (accounts) travel: opened in the export, sealed again on import.
    const admin = await platform.token(SILO, 'admin');
    const invited = await platform.graphql(
      admin,
      'mutation { inviteUser(input: { name: "Alice Umbrella", email: "alice@umbrella.test", roles: [CUSTOMER] }) { id } }',
    );
    expect(invited.body.errors).toBeUndefined();
    const exported = await tollgate(['tenant', 'export', SILO, '--out', file]);
    expect(exported).toMatchObject({ code: 0 });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const manifest = (
      JSON.parse(lines.at(-1)!) as {
        manifest: { subgraph: string; collection: string; count: number; checksum: string }[];
      }
    ).manifest;
    const counts = Object.fromEntries(manifest.map((m) => [m.collection, m.count]));
    expect(counts).toMatchObject({ products: 3, reviews: 1, users: 1 });
    expect(counts.stock).toBeGreaterThan(0);
    const total = manifest.reduce((sum, m) => sum + m.count, 0);
    expect(lines).toHaveLength(total + 2);
    expect(lines.some((line) => line.includes('alice@umbrella.test'))).toBe(true);

    expect((await tollgate(['tenant', 'create', pooledCopy])).code).toBe(0);
    const created = await tollgate(['tenant', 'create', siloCopy, '--isolation', 'silo', '--db', dbOption()]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    for (const target of [pooledCopy, siloCopy]) {
      const imported = await tollgate(['tenant', 'import', file, '--into', target, '--json']);
      expect(imported).toMatchObject({ code: 0, stderr: '' });
      const report = JSON.parse(imported.stdout) as {
        inserted: number;
        verified: boolean;
        verification: { subgraph: string; collection: string; actual: { count: number; checksum: string } }[];
      };
      expect(report).toMatchObject({ inserted: total, verified: true });
      // The manifest's checksums, collection by collection.
      expect(
        report.verification.map((v) => [v.subgraph, v.collection, v.actual.count, v.actual.checksum]).sort(),
      ).toEqual(manifest.map((m) => [m.subgraph, m.collection, m.count, m.checksum]).sort());
    }
    // Each copy where its placement says: the pooled one in the shared databases, the silo one in its own.
    const shared = SUBGRAPH_NAMES.map((name) => platform.dbNameFor(name));
    expect(await documentsOf(pooledCopy, shared)).toBe(total);
    expect(await documentsOf(siloCopy, shared)).toBe(0);
    expect(await documentsOf(siloCopy, silosOf(siloCopy))).toBe(total);
    // And the gateway serves the silo copy from there.
    expect(await skus(await platform.token(siloCopy, 'staff'))).toEqual(['UMB-1', 'UMB-2', 'UMB-3']);
  });

  it('onboards a silo tenant with its first admin in its own accounts database', async () => {
    const onboarded = `umb-onb-${run}`;
    const email = `boss@${onboarded}.test`;
    const args = ['tenant', 'create', onboarded, '--isolation', 'silo', '--db', dbOption()];
    const created = await tollgate([...args, '--admin-email', email, '--admin-name', 'Silo Boss', '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const { admin } = JSON.parse(created.stdout) as { admin: { userId: string; created: boolean } };
    expect(admin).toEqual({ userId: userIdFor(onboarded, email), email, created: true });
    const accounts = siloDbName(platform.dbNameFor('accounts'), onboarded);
    try {
      expect(await documentsOf(onboarded, [accounts])).toBe(1);
      expect(await documentsOf(onboarded, [platform.dbNameFor('accounts')])).toBe(0);
      const token = await platform.issuer.sign({ tenant: onboarded, sub: admin.userId, roles: ['admin'] });
      const me = await platform.graphql(token, '{ me { email name } }');
      expect(me.body.errors).toBeUndefined();
      expect(me.body.data).toEqual({ me: { email, name: 'Silo Boss' } });
    } finally {
      for (const name of silosOf(onboarded)) await raw.getClient().db(name).dropDatabase();
    }
  });

  it('sweeps the old documents of a silo tenant in its own database', async () => {
    const reviews = raw
      .getClient()
      .db(siloDbName(platform.dbNameFor('reviews'), SILO))
      .collection('reviews');
    const marker = `silo-retention-${run}`;
    const seed = (ageDays: number, count: number, body: string) =>
      reviews.insertMany(
        Array.from({ length: count }, () => ({
          // That creation time, and random bytes after it.
          _id: new mongoose.Types.ObjectId(
            Buffer.concat([
              mongoose.Types.ObjectId.createFromTime(Math.floor((Date.now() - ageDays * DAY) / 1000)).id.subarray(0, 4),
              randomBytes(8),
            ]),
          ),
          tenantId: SILO,
          productId: new mongoose.Types.ObjectId(),
          authorId: new mongoose.Types.ObjectId(),
          rating: 3,
          body,
        })),
      );
    await seed(45, 12, `${marker}-old`);
    await seed(5, 3, `${marker}-new`);
    const retention = join(work, 'retention.json');
    writeFileSync(retention, JSON.stringify({ tenants: { [SILO]: { reviews: '30d' } } }));
    env.RETENTION_FILE = retention;
    try {
      const swept = await tollgate(['tenant', 'sweep', '--tenant', SILO, '--json']);
      expect(swept.code).toBe(0);
      expect(JSON.parse(swept.stdout)).toEqual([
        {
          tenant: SILO,
          collections: [{ subgraph: 'reviews', collection: 'reviews', maxAgeMs: 30 * DAY, deleted: 12 }],
        },
      ]);
      expect(await reviews.countDocuments({ body: `${marker}-old` })).toBe(0);
      expect(await reviews.countDocuments({ body: `${marker}-new` })).toBe(3);
      // The tenant's own review (its body sealed at rest) is young: kept.
      expect(await reviews.countDocuments({ tenantId: SILO })).toBe(1 + 3);
      const again = await tollgate(['tenant', 'sweep', '--tenant', SILO, '--json']);
      expect((JSON.parse(again.stdout) as { collections: { deleted: number }[] }[])[0]!.collections[0]!.deleted).toBe(
        0,
      );
    } finally {
      delete env.RETENTION_FILE;
    }
  });

  it('refuses a tenant being moved with a code, and defers it in a sweep of every tenant', async () => {
    expect((await tollgate(['tenant', 'create', mover])).code).toBe(0);
    await controlPlane.tenants.beginMove(mover, 'silo');
    const refusal = `tollgate: tenant ${mover} is being moved between tiers (TENANT_MOVING): run this again once \`tenant move ${mover}\` has finished\n`;
    for (const args of [
      ['tenant', 'export', mover, '--out', join(work, 'mover.ndjson')],
      ['tenant', 'import', file, '--into', mover],
      ['tenant', 'erase', mover, '--confirm', mover, '--settle', '0'],
    ])
      expect(await tollgate(args)).toEqual({ code: 1, stdout: '', stderr: refusal });
    expect((await controlPlane.tenants.getTenant(mover))?.status).toBe('active');
    expect(await documentsOf(mover, await databases())).toBe(0);

    const retention = join(work, 'retention-all.json');
    writeFileSync(retention, JSON.stringify({ tenants: { [mover]: { reviews: '30d' } } }));
    env.RETENTION_FILE = retention;
    try {
      expect(await tollgate(['tenant', 'sweep', '--tenant', mover])).toEqual({ code: 1, stdout: '', stderr: refusal });
      const all = await tollgate(['tenant', 'sweep', '--json']);
      expect(all.code).toBe(0);
      expect((JSON.parse(all.stdout) as { tenant: string }[]).map((s) => s.tenant)).not.toContain(mover);
      const deferred = all.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.tenant === mover);
      expect(deferred).toEqual([
        expect.objectContaining({ msg: 'retention sweep deferred: tenant being moved', code: 'TENANT_MOVING' }),
      ]);
    } finally {
      delete env.RETENTION_FILE;
    }
  });

  it('erases a silo tenant everywhere: no document with its id in any database, its silo databases dropped', async () => {
    // A leftover of an interrupted move back to pooled, in a shared collection: erased too.
    await raw
      .getClient()
      .db(platform.dbNameFor('products'))
      .collection('products')
      .insertOne({ tenantId: SILO, sku: 'UMB-LEFTOVER', name: 'leftover', price: 1, weight: 1 });
    for (const name of silosOf(SILO)) expect(await databases()).toContain(name);

    const erased = await tollgate(['tenant', 'erase', SILO, '--confirm', SILO, '--settle', '0', '--json']);
    expect(erased).toMatchObject({ code: 0, stderr: '' });
    const receipt = JSON.parse(erased.stdout) as {
      complete: boolean;
      subgraphs: {
        subgraph: string;
        silo: string;
        collections: { collection: string; placement: string; before: number; after: number }[];
      }[];
    };
    expect(receipt.complete).toBe(true);
    expect(receipt.subgraphs.map((s) => [s.subgraph, s.silo])).toEqual(SUBGRAPH_NAMES.map((name) => [name, 'dropped']));
    const rows = receipt.subgraphs.flatMap((s) => s.collections.map((c) => ({ subgraph: s.subgraph, ...c })));
    expect(rows.every((row) => row.after === 0)).toBe(true);
    expect(rows).toEqual(
      expect.arrayContaining([
        { subgraph: 'products', collection: 'products', placement: 'pooled', before: 1, after: 0 },
        { subgraph: 'products', collection: 'products', placement: 'silo', before: 3, after: 0 },
        { subgraph: 'reviews', collection: 'reviews', placement: 'silo', before: 4, after: 0 },
        { subgraph: 'accounts', collection: 'users', placement: 'silo', before: 1, after: 0 },
      ]),
    );

    // Its silo databases are gone; a scan of every collection of every database finds its id nowhere — its tombstone
    // and the record of its erasure name it by its pseudonym only (test/e2e/lifecycle-erase.test.ts).
    const left = await databases();
    for (const name of silosOf(SILO)) expect(left).not.toContain(name);
    const places: string[] = [];
    for (const name of left) {
      const db = raw.getClient().db(name);
      for (const { name: collection } of await db.listCollections({}, { nameOnly: true }).toArray())
        for await (const doc of db.collection(collection).find({}))
          if (mongoose.mongo.BSON.EJSON.stringify(doc).includes(`"${SILO}"`))
            places.push(`${name.slice(prefix().length)}/${collection}`);
    }
    expect(places).toEqual([]);
    // `tollgate migrate` makes every silo tenant's databases, but not an erased one's again.
    const migrated = await tollgate(['migrate', '--only', 'products', '--db', dbOption(), '--json']);
    expect(migrated).toMatchObject({ code: 0 });
    expect(await databases()).toContain(siloDbName(platform.dbNameFor('products'), siloCopy));
    expect(await databases()).not.toContain(siloDbName(platform.dbNameFor('products'), SILO));
    // The copies are untouched.
    expect(await skus(await platform.token(siloCopy, 'staff'))).toEqual(['UMB-1', 'UMB-2', 'UMB-3']);
  });
});
