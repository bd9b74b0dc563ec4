/**
 * `tollgate tenant create --isolation silo` and `tollgate tenant move`, in-process against the test MongoDB with a
 * control plane and subgraph databases of their own (the load test is test/e2e/tenant-move.test.ts): silo
 * databases migrated at creation, a move resumed after an interruption, a rerun that finds nothing left to do, and
 * the way back with the same counts and checksums.
 */
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { openControlPlane } from '../gateway/src/control-plane/open';
import { SUBGRAPH_NAMES } from '../subgraphs/catalog';
import { siloDbName } from '../subgraphs/kit/placement';
import { runTollgate } from './commands';

const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const prefix = `tm_${randomBytes(4).toString('hex')}`;
const controlDb = `${prefix}_control`;
const dbFor = (name: string) => `${prefix}_${name}`;
const DB = `--db ${SUBGRAPH_NAMES.map((name) => `${name}=${dbFor(name)}`).join(',')}`;
const env = { MONGODB_URI: mongoUri, CONTROL_DB: controlDb, REDIS_URL: process.env.TEST_REDIS_URL ?? '' };
let raw: Connection;

async function tollgate(args: string) {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(args.split(/\s+/).filter(Boolean), {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}

const products = (db: string) => raw.useDb(db, { useCache: true }).collection('products');

beforeAll(async () => {
  raw = await mongoose.createConnection(mongoUri).asPromise();
  expect((await tollgate(`migrate ${DB}`)).code).toBe(0);
  expect((await tollgate('tenant create mover --name Mover')).code).toBe(0);
  await products(dbFor('products')).insertMany(
    Array.from({ length: 25 }, (_, i) => ({ tenantId: 'mover', sku: `M-${i}`, name: `m ${i}`, price: i, weight: 1 })),
  );
  await products(dbFor('products')).insertOne({ tenantId: 'stays', sku: 'S-1', name: 's', price: 1, weight: 1 });
}, 60_000);

afterAll(async () => {
  for (const name of [...SUBGRAPH_NAMES, 'control']) await raw.useDb(dbFor(name), { useCache: true }).dropDatabase();
  for (const tenant of ['mover', 'silo-one', 'fading'])
    for (const name of SUBGRAPH_NAMES)
      await raw.useDb(siloDbName(dbFor(name), tenant), { useCache: true }).dropDatabase();
  await raw.close();
});

describe('tenant create --isolation silo', () => {
  it('registers a silo tenant and migrates its own database in every subgraph', async () => {
    const run = await tollgate(`tenant create silo-one --name Silo --isolation silo ${DB} --json`);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: 'silo-one', isolation: 'silo', placementEpoch: 0 });
    const indexes = await products(siloDbName(dbFor('products'), 'silo-one')).indexes();
    expect(indexes.map((index) => index.name)).toContain('tenantId_1_sku_1');
    expect((await tollgate('tenant create bad --name Bad --isolation bridge')).code).not.toBe(0);
  });
});

describe('tenant move', () => {
  it('resumes an interrupted move, verifies it and removes the old copy', async () => {
    // A move that stopped after blocking writes: the phase is in the control plane.
    const controlPlane = await openControlPlane({ mongoUri, dbName: controlDb });
    await controlPlane.tenants.beginMove('mover', 'silo');
    await controlPlane.close();
    const run = await tollgate(`tenant move mover --tier silo --settle 0 --batch-size 4 ${DB} --json`);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { verified: { collection: string; count: number; checksum: string }[] };
    expect(report).toMatchObject({ tenant: 'mover', from: 'pooled', to: 'silo', copied: 25, placementEpoch: 1 });
    expect(report.verified.find((s) => s.collection === 'products')).toMatchObject({ count: 25 });
    expect(run.stderr).toContain('verified counts and checksums');
    expect(await products(siloDbName(dbFor('products'), 'mover')).countDocuments({ tenantId: 'mover' })).toBe(25);
    expect(await products(dbFor('products')).countDocuments({ tenantId: 'mover' })).toBe(0);
    // Another tenant's documents in the shared collection are not touched.
    expect(await products(dbFor('products')).countDocuments({ tenantId: 'stays' })).toBe(1);

    const again = await tollgate(`tenant move mover --tier silo --settle 0 ${DB} --json`);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ copied: 0, removed: 0, placementEpoch: 1 });

    const back = await tollgate(`tenant move mover --tier pooled --settle 0 ${DB} --json`);
    expect(back.code).toBe(0);
    const backReport = JSON.parse(back.stdout) as typeof report;
    expect(backReport).toMatchObject({ from: 'silo', to: 'pooled', copied: 25, removed: 25, placementEpoch: 2 });
    expect(backReport.verified).toEqual(report.verified);
    expect(await products(dbFor('products')).countDocuments({ tenantId: 'mover' })).toBe(25);
  });

  it('refuses to move a tenant being erased, and copies nothing', async () => {
    expect((await tollgate('tenant create fading --name Fading')).code).toBe(0);
    await products(dbFor('products')).insertOne({ tenantId: 'fading', sku: 'F-1', name: 'f', price: 1, weight: 1 });
    const controlPlane = await openControlPlane({ mongoUri, dbName: controlDb });
    try {
      // `tenant erase` marks it first (cli/lifecycle/erase.ts), then deletes its documents subgraph by subgraph.
      await controlPlane.tenants.beginErasure('fading');
      const run = await tollgate(`tenant move fading --tier silo --settle 0 ${DB}`);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('tenant fading is being erased');
      expect(await products(siloDbName(dbFor('products'), 'fading')).countDocuments({})).toBe(0);
      expect(await controlPlane.tenants.getTenant('fading')).toMatchObject({
        isolation: 'pooled',
        status: 'suspended',
      });
      expect((await controlPlane.tenants.getTenant('fading'))?.move).toBeUndefined();
    } finally {
      await controlPlane.close();
    }
  });

  it('refuses a tier that does not exist, and a tenant that does not', async () => {
    expect((await tollgate(`tenant move mover --tier bridge --settle 0 ${DB}`)).code).not.toBe(0);
    expect((await tollgate(`tenant move nobody --tier silo --settle 0 ${DB}`)).code).not.toBe(0);
  });
});
