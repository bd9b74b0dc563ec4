/**
 * Issue 18, acceptance 4: a tenant with 100,000 documents exported by the `tollgate` CLI through the subgraphs'
 * platform API, with the subgraphs (real processes, subgraphs/run.ts) and the CLI (a real process) measured:
 * their peak RSS growth is reported and must stay under a bound well below the export's size (memory does not grow
 * with the tenant). The export re-imported into a fresh tenant gives the same counts and checksums.
 *
 * Peak RSS: a subgraph's VmHWM is reset (/proc/<pid>/clear_refs) before the export and read after it; the CLI's
 * maxRSS is written at exit (test/support/max-rss.mjs) and compared with the same CLI running a command that reads
 * nothing (`tenant show`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mongoose from 'mongoose';
import { deriveSubgraphKey } from '../../common/internal-token';
import { PROJECT_ROOT } from '../../common/paths';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../subgraphs/catalog';
import { migrateSubgraphs } from '../../subgraphs/migrate';
import { openControlPlane } from '../../gateway/src/control-plane/open';

jest.setTimeout(900_000);

const mongoUri = process.env.TEST_MONGODB_URI!;
const prefix = `lcx_${randomBytes(4).toString('hex')}`;
const dbNameFor = (name: string) => `${prefix}_${name}`;
const secret = randomBytes(32);
const work = mkdtempSync(join(tmpdir(), 'tollgate-export-'));
const SOURCE = 'bigco';
const TARGET = 'bigco-copy';
const COUNTS = { users: 1_000, products: 39_000, stock: 30_000, reviews: 30_000 };
const TOTAL = Object.values(COUNTS).reduce((a, b) => a + b, 0);
/**
 * Every process runs with its V8 old space capped at HEAP_CAP_MIB: a process that held the tenant's documents (the
 * export is ~67 MiB of text, more as objects) would die of it. V8 collects lazily below its limit, so without the cap
 * RSS grows by garbage it has not bothered to collect yet (measured: 100–170 MiB), which says nothing about what is
 * retained. MAX_GROWTH_MIB bounds the peak RSS growth of each process under the cap.
 */
const HEAP_CAP_MIB = 64;
const MAX_GROWTH_MIB = 128;

const children: { name: SubgraphName; child: ChildProcess; url: string }[] = [];
const cliEnv: NodeJS.ProcessEnv = {};

function startSubgraphProcess(name: SubgraphName): Promise<{ name: SubgraphName; child: ChildProcess; url: string }> {
  const args = [
    `--max-old-space-size=${HEAP_CAP_MIB}`,
    '--import',
    'tsx',
    join(PROJECT_ROOT, 'subgraphs', 'run.ts'),
    name,
  ];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      PORT: '0',
      MONGODB_URI: mongoUri,
      MONGODB_DB: dbNameFor(name),
      TOLLGATE_INTERNAL_KEY: deriveSubgraphKey(secret, name).toString('hex'),
      LOG_LEVEL: 'info',
      // The platform calls of this test are long; the default (10 s) is for gateway requests.
      REQUEST_DEADLINE_MS: '10000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    setTimeout(() => reject(new Error(`${name} did not log "listening" within 60 s`)), 60_000).unref();
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        const record = JSON.parse(line) as { msg?: string; url?: string };
        if (record.msg === 'listening') resolve({ name, child, url: record.url! });
      } catch {
        // not a log line
      }
    });
  });
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) / 1024;
}

async function cli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; maxRssMiB: number }> {
  const rssFile = join(work, `rss-${randomBytes(4).toString('hex')}`);
  const child = spawn(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_CAP_MIB}`,
      '--import',
      'tsx',
      '--import',
      join(PROJECT_ROOT, 'test', 'support', 'max-rss.mjs'),
      join(PROJECT_ROOT, 'cli', 'tollgate.ts'),
      ...args,
    ],
    { env: { ...process.env, ...cliEnv, MAX_RSS_FILE: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr, maxRssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024 };
}

async function seed(): Promise<void> {
  const connection = await mongoose.createConnection(mongoUri).asPromise();
  try {
    const { ObjectId } = mongoose.mongo;
    const db = (name: SubgraphName) => connection.useDb(dbNameFor(name), { useCache: true }).db!;
    const insert = async (name: SubgraphName, collection: string, count: number, make: (i: number) => object) => {
      for (let start = 0; start < count; start += 5_000) {
        const batch = [];
        for (let i = start; i < Math.min(count, start + 5_000); i++) batch.push(make(i));
        await db(name).collection(collection).insertMany(batch, { ordered: false });
      }
    };
    const userIds = Array.from({ length: COUNTS.users }, () => new ObjectId());
    const productIds = Array.from({ length: COUNTS.products }, () => new ObjectId());
    const text = (i: number, length: number) => `${i} `.padEnd(length, 'lorem ipsum dolor sit amet ');
    await insert('accounts', 'users', COUNTS.users, (i) => ({
      _id: userIds[i],
      tenantId: SOURCE,
      name: `User ${i}`,
      email: `user${i}@bigco.test`,
      roles: ['customer'],
      invitedAt: new Date(1_700_000_000_000 + i),
    }));
    await insert('products', 'products', COUNTS.products, (i) => ({
      _id: productIds[i],
      tenantId: SOURCE,
      sku: `P-${i}`,
      name: text(i, 150),
      price: i % 100_000,
      weight: (i * 7) % 10_000,
    }));
    await insert('inventory', 'stock', COUNTS.stock, (i) => ({
      _id: new ObjectId(),
      tenantId: SOURCE,
      productId: productIds[i],
      quantity: i % 500,
    }));
    await insert('reviews', 'reviews', COUNTS.reviews, (i) => ({
      _id: new ObjectId(),
      tenantId: SOURCE,
      productId: productIds[i % COUNTS.products],
      authorId: userIds[i % COUNTS.users],
      rating: 1 + (i % 5),
      body: text(i, 1_500),
    }));
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  await migrateSubgraphs({ mongoUri, names: [...SUBGRAPH_NAMES], dbNameFor });
  const controlPlane = await openControlPlane({ mongoUri, dbName: dbNameFor('control') });
  try {
    await controlPlane.tenants.createTenant({ id: SOURCE, name: 'Big Co' });
    await controlPlane.tenants.createTenant({ id: TARGET, name: 'Big Co (copy)' });
  } finally {
    await controlPlane.close();
  }
  await seed();
  children.push(...(await Promise.all(SUBGRAPH_NAMES.map(startSubgraphProcess))));
  Object.assign(cliEnv, {
    MONGODB_URI: mongoUri,
    CONTROL_DB: dbNameFor('control'),
    REDIS_URL: process.env.TEST_REDIS_URL,
    TOLLGATE_INTERNAL_SECRET: secret.toString('hex'),
    ...Object.fromEntries(children.map(({ name, url }) => [`${name.toUpperCase()}_URL`, url])),
  });
});

afterAll(async () => {
  for (const { child } of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  const connection = await mongoose.createConnection(mongoUri).asPromise();
  try {
    for (const name of [...SUBGRAPH_NAMES, 'control'])
      await connection.useDb(dbNameFor(name), { useCache: true }).dropDatabase();
  } finally {
    await connection.close();
  }
});

test('100,000 documents export in bounded memory and re-import with the same checksums', async () => {
  const file = join(work, 'bigco.ndjson');
  const idle = await cli(['tenant', 'show', SOURCE]);
  expect(idle.code).toBe(0);

  const before = new Map<SubgraphName, number>();
  for (const { name, child } of children) {
    writeFileSync(`/proc/${child.pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
    before.set(name, status(child.pid!, 'VmRSS'));
  }
  const exported = await cli(['tenant', 'export', SOURCE, '--out', file]);
  expect(exported.stderr).toBe(`Exported ${TOTAL} documents of tenant ${SOURCE} to ${file}.\n`);
  expect(exported.code).toBe(0);
  const growth: Record<string, number> = { cli: exported.maxRssMiB - idle.maxRssMiB };
  for (const { name, child } of children) growth[name] = status(child.pid!, 'VmHWM') - before.get(name)!;

  const sizeMiB = statSync(file).size / 1024 / 1024;
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(TOTAL + 2);
  const manifest = (JSON.parse(lines.at(-1)!) as { manifest: { collection: string; count: number }[] }).manifest;
  expect(Object.fromEntries(manifest.map((m) => [m.collection, m.count]))).toEqual(COUNTS);

  const rounded = Object.fromEntries(Object.entries(growth).map(([k, v]) => [k, Math.round(v * 10) / 10]));
  // The figures, for the README and the lead: peak RSS growth per process (MiB) against the export's size.
  console.log(
    `export of ${TOTAL} documents, ${sizeMiB.toFixed(1)} MiB: peak RSS growth (MiB) ${JSON.stringify(rounded)}`,
  );
  expect(HEAP_CAP_MIB).toBeLessThan(sizeMiB);
  for (const [name, mib] of Object.entries(growth)) expect([name, mib < MAX_GROWTH_MIB]).toEqual([name, true]);

  const imported = await cli(['tenant', 'import', file, '--into', TARGET, '--json']);
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
  const report = JSON.parse(imported.stdout) as {
    inserted: number;
    verified: boolean;
    verification: { collection: string; expected: { checksum: string }; actual: { checksum: string; count: number } }[];
  };
  expect(report.inserted).toBe(TOTAL);
  expect(report.verified).toBe(true);
  for (const v of report.verification) expect(v.actual.checksum).toBe(v.expected.checksum);
  console.log(
    `import into a fresh tenant: peak RSS ${imported.maxRssMiB.toFixed(1)} MiB (idle CLI ${idle.maxRssMiB.toFixed(1)} MiB)`,
  );

  // A re-run inserts nothing again and still verifies.
  const again = await cli(['tenant', 'import', file, '--into', TARGET, '--json']);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({ inserted: 0, existing: TOTAL, verified: true });
});
