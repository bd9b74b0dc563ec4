/**
 * `tenant move` under load (issue 18 acceptance 1, second half): acme moves pooled → silo and back while writers
 * create products through the gateway without pause, retrying only the documented 503 SERVICE_UNAVAILABLE of a
 * moving tenant. Nothing is lost or misplaced: every accepted write is in the new placement exactly once, nothing of
 * acme is left in the old one, the documents nobody wrote keep their counts and checksums, and reads never fail.
 */
import mongoose, { type Connection } from 'mongoose';
import { SUBGRAPH_NAMES } from '../../subgraphs/catalog';
import { siloDbName } from '../../subgraphs/kit/placement';
import { summarizeTenant, type CollectionSummary, type Tier } from '../../subgraphs/move';
import { openControlPlane, type ControlPlane } from '../../gateway/src/control-plane/open';
import { createChangePublisher, type ChangePublisher } from '../../gateway/src/tenants/changes';
import { moveTenant, type MoveReport } from '../../cli/tenant-move';
import { startRealPlatform, type RealPlatform } from './platform';

const TENANT = 'acme';
/** The gateway hears of changes over Redis at once; this also outlasts the platform's subgraph timeout. */
const SETTLE_MS = 2_000;
const WRITERS = 4;
/** The load is bounded: at most this many writes in all. */
const MAX_WRITES = 600;
const CREATE = 'mutation($input: CreateProductInput!) { createProduct(input: $input) { id sku } }';
const READ = '{ products(first: 5) { edges { node { id sku } } } }';

let platform: RealPlatform;
let raw: Connection;
let controlPlane: ControlPlane;
let publisher: ChangePublisher;
let staff: string;
const mongoUri = () => process.env.TEST_MONGODB_URI!;
const data = () => ({ connection: raw, tenantId: TENANT, dbNameFor: platform.dbNameFor, batchSize: 7 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Load {
  accepted: string[];
  refusedWhileMoving: number;
  failures: string[];
  reads: number;
  stop(): Promise<void>;
}

/** Writers that create products one after the other, and a reader; only a moving tenant's 503 is retried. */
function startLoad(label: string): Load {
  const load = { accepted: [] as string[], refusedWhileMoving: 0, failures: [] as string[], reads: 0 };
  let stopped = false;
  let writes = 0;
  const writer = async (w: number) => {
    for (let i = 0; !stopped && writes < MAX_WRITES; i++) {
      const sku = `${label}-${w}-${i}`;
      for (;;) {
        writes++;
        const result = await platform.graphql(staff, CREATE, {
          input: { sku, name: `Load ${sku}`, price: 100 + i, weight: 10 },
        });
        if (result.body.data?.createProduct) {
          load.accepted.push(sku);
          break;
        }
        const code = result.body.errors?.[0]?.extensions?.code;
        if (result.status === 503 && code === 'SERVICE_UNAVAILABLE') {
          load.refusedWhileMoving++;
          await sleep(200);
          continue;
        }
        load.failures.push(`${sku}: ${result.status} ${result.text.slice(0, 200)}`);
        break;
      }
    }
  };
  const reader = async () => {
    while (!stopped) {
      const result = await platform.graphql(staff, READ);
      if (result.body.errors) load.failures.push(`read: ${result.status} ${result.text.slice(0, 200)}`);
      load.reads++;
      await sleep(20);
    }
  };
  const running = Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), reader()]);
  return Object.assign(load, {
    async stop() {
      stopped = true;
      await running;
    },
  });
}

async function productsIn(tier: Tier, filter: Record<string, unknown> = {}) {
  const db = tier === 'pooled' ? platform.dbNameFor('products') : siloDbName(platform.dbNameFor('products'), TENANT);
  return raw
    .useDb(db, { useCache: true })
    .collection('products')
    .find({ tenantId: TENANT, ...filter })
    .sort({ _id: 1 })
    .toArray();
}

/** Everything of acme in `tier`, every subgraph and collection. */
async function documentsIn(tier: Tier): Promise<number> {
  return (await summarizeTenant(data(), tier)).reduce((sum, s) => sum + s.count, 0);
}

const unwritten = (summaries: CollectionSummary[]) => summaries.filter((s) => s.collection !== 'products');

beforeAll(async () => {
  platform = await startRealPlatform();
  raw = await mongoose.createConnection(mongoUri()).asPromise();
  publisher = createChangePublisher({
    redisUrl: process.env.TEST_REDIS_URL!,
    dbName: platform.controlDbName,
    onError: () => undefined,
  });
  controlPlane = await openControlPlane({ mongoUri: mongoUri(), dbName: platform.controlDbName, changes: publisher });
  staff = await platform.token(TENANT, 'staff');
}, 120_000);

afterAll(async () => {
  await controlPlane?.close();
  await publisher?.close();
  await platform?.stop();
  if (raw) {
    for (const name of SUBGRAPH_NAMES)
      await raw.useDb(siloDbName(platform.dbNameFor(name), TENANT), { useCache: true }).dropDatabase();
    await raw.close();
  }
});

describe.each([
  ['pooled', 'silo'],
  ['silo', 'pooled'],
] as const)('tenant move %s → %s under a concurrent write load', (from, to) => {
  it('loses and misplaces nothing', async () => {
    const before = await summarizeTenant(data(), from);
    const productsBefore = await productsIn(from);
    expect(productsBefore.length).toBeGreaterThan(0);
    expect(await documentsIn(to)).toBe(0);

    const load = startLoad(`MOVE-${to.toUpperCase()}`);
    // Writes land before the move starts, during it (refused, retried) and after it.
    while (load.accepted.length < 20) await sleep(50);
    const report: MoveReport = await moveTenant({
      tenants: controlPlane.tenants,
      connection: raw,
      mongoUri: mongoUri(),
      tenantId: TENANT,
      to,
      dbNameFor: platform.dbNameFor,
      settleMs: SETTLE_MS,
      batchSize: 7,
    });
    const acceptedAtEnd = load.accepted.length;
    while (load.accepted.length < acceptedAtEnd + 20) await sleep(50);
    await load.stop();

    expect(load.failures).toEqual([]);
    expect(load.refusedWhileMoving).toBeGreaterThan(0);
    expect(load.reads).toBeGreaterThan(0);
    expect(report).toMatchObject({ from, to, placementEpoch: to === 'silo' ? 1 : 2 });
    expect(report.verified.map((s) => `${s.subgraph}.${s.collection}`).sort()).toEqual(
      before.map((s) => `${s.subgraph}.${s.collection}`).sort(),
    );
    const tenant = await controlPlane.tenants.getTenant(TENANT);
    expect(tenant).toMatchObject({ isolation: to });
    expect(tenant?.move).toBeUndefined();

    // Nothing of acme is left in the old placement, in any subgraph.
    expect(await documentsIn(from)).toBe(0);
    // Every accepted write is in the new placement exactly once, and nothing else was added.
    const productsAfter = await productsIn(to);
    const skus = productsAfter.map((p) => p.sku as string);
    for (const sku of load.accepted) expect(skus.filter((s) => s === sku)).toHaveLength(1);
    expect(productsAfter).toHaveLength(productsBefore.length + load.accepted.length);
    // The documents that were there before are there unchanged; the collections nobody wrote have the same
    // counts and checksums.
    const byId = new Map(productsAfter.map((p) => [String(p._id), p]));
    for (const product of productsBefore) expect(byId.get(String(product._id))).toEqual(product);
    const after = await summarizeTenant(data(), to);
    expect(unwritten(after)).toEqual(unwritten(before));
    // Reads through the gateway see the moved tenant.
    const read = await platform.graphql(staff, READ);
    expect(read.body.errors).toBeUndefined();
  }, 120_000);
});
