/**
 * Flood benchmark (`npm run bench:flood`): can a stream of distinct documents — the cheapest attack any
 * authenticated caller has — exhaust the gateway's memory? It starts its own FerretDB (.data/flood-ferretdb, port
 * 27033), its own redis-server (port 6393), the four real subgraphs and one gateway (gateway/src/main.ts with an IPC
 * channel, bench/flood-gateway.ts) as bundles, the gateway under `node --max-old-space-size=256 --expose-gc`. Then it
 * sends FLOOD_DOCUMENTS (default 100 000) distinct documents as globex, a free-plan tenant — valid ones (most refused
 * by the budget with 429 after parsing, validation and analysis), invalid ones (validation errors) and unparsable
 * ones — with FLOOD_CONCURRENCY (default 8) requests in flight, all on loopback, and a probe request of another
 * tenant (acme) every FLOOD_PROBE_EVERY (default 250) documents, which must be answered 200 with data.
 *
 * At the end it asks the gateway for a full GC and its heap and cache sizes, reads its peak RSS (VmHWM), and fails
 * (exit 1) when the gateway died, a probe failed, or the heap after GC is over FLOOD_HEAP_BOUND_MIB (default 160).
 * FLOOD_SNAPSHOT=1 also writes a heap snapshot of the flooded gateway to bench/results/ (summarise it with
 * `npx tsx bench/heap-summary.ts <file>`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mintDevToken } from '../cli/dev-token';
import { seedControlPlane } from '../demo/control-plane';
import { DATA_DIR, ROOT, startFerretDB, type EmbeddedFerretDB } from '../scripts/embedded/ferretdb';
import { ensureRedis, type RedisHandle } from '../scripts/embedded/redis';
import type { SubgraphName } from '../subgraphs/catalog';
import { DEMO_USERS, seedDemoTenants } from '../demo/subgraph-data';
import type { FloodGatewayStats } from './flood-gateway';
import { buildBenchBundles, createLauncher, launchSubgraphs, waitFor, waitForSubgraphs } from './processes';

const env = process.env;
const DOCUMENTS = Number(env.FLOOD_DOCUMENTS ?? 100_000);
const CONCURRENCY = Number(env.FLOOD_CONCURRENCY ?? 8);
const PROBE_EVERY = Number(env.FLOOD_PROBE_EVERY ?? 250);
const HEAP_BOUND_MIB = Number(env.FLOOD_HEAP_BOUND_MIB ?? 160);
const MAX_OLD_SPACE_MIB = 256;
const FERRET_PORT = 27033;
const REDIS_URL = env.FLOOD_REDIS_URL ?? 'redis://127.0.0.1:6393';
const SUBGRAPH_PORT_BASE = 4141;
const GATEWAY_PORT = 4140;
const CONTROL_DB = 'tollgate_flood_control';
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const dbNameFor = (name: SubgraphName) => `tollgate_flood_${name}`;
const GATEWAY_URL = `http://127.0.0.1:${GATEWAY_PORT}/graphql`;
const PROBE_QUERY = '{ products(first: 2) { edges { node { id name } } } }';

const say = (line: string) => process.stdout.write(`[flood] ${line}\n`);
const launcher = createLauncher({ logsDir: join(RESULTS_DIR, 'logs'), logPrefix: 'flood-' });
/** How long each of the flood's processes may take to answer (the subgraphs, the gateway under its small heap). */
const START_TIMEOUT_MS = 90_000;

/**
 * The i-th document: distinct by its aliases (numbered per request) and by how many fields it selects. Six in ten
 * are valid (the free plan's budget refuses most of them), two in ten fail validation, one does not parse, one is
 * valid and near the free plan's shape limits.
 */
export function floodDocument(i: number): string {
  const kind = i % 10;
  const fields = ['id', 'name', 'price', 'weight'].slice(0, 1 + (i % 4)).join(' ');
  if (kind < 6)
    return `query Flood${i} { p${i}: products(first: ${1 + (i % 20)}) { edges { node { ${fields} } } } m${i}: me { id } }`;
  if (kind < 8) return `query Flood${i} { p${i}: products(first: 3) { edges { node { ${fields} missing${i} } } } }`;
  if (kind === 8) return `query Flood${i} { p${i}: products(first: 3) { edges { node { ${fields} } }`;
  const aliases = Array.from(
    { length: 5 },
    (_, k) => `a${i}_${k}: product(id: "${(i * 5 + k).toString(16).padStart(24, '0')}") { ${fields} }`,
  );
  return `query Flood${i} { ${aliases.join(' ')} }`;
}

interface Sample {
  rssMiB: number;
  at: number;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.replace(/\D+/g, '')) / 1024 : Number.NaN;
}

function ask<T>(child: ChildProcess, message: unknown, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the gateway did not answer over IPC')), timeoutMs);
    child.once('message', (reply) => {
      clearTimeout(timer);
      resolve(reply as T);
    });
    child.send(message as never);
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  let ferret: EmbeddedFerretDB | undefined;
  let redis: RedisHandle | undefined;
  const stop = async () => {
    await launcher.stopAll();
    await ferret?.stop();
    await redis?.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  let failed: boolean;
  try {
    say('starting FerretDB (.data/flood-ferretdb) and Redis…');
    ferret = await startFerretDB({ port: FERRET_PORT, dataDir: join(DATA_DIR, 'flood-ferretdb'), log: say });
    redis = await ensureRedis(REDIS_URL, say);
    await seedDemoTenants({ mongoUri: ferret.uri, dbNameFor });
    await seedControlPlane({ mongoUri: ferret.uri, dbName: CONTROL_DB });
    const bundles = await buildBenchBundles(
      join(DATA_DIR, 'flood-dist'),
      { 'flood-gateway': 'bench/flood-gateway.ts' },
      say,
    );
    const secret = randomBytes(32);
    const { urls } = launchSubgraphs({
      launcher,
      bundle: bundles.subgraph,
      mongoUri: ferret.uri,
      dbNameFor,
      secret,
      portBase: SUBGRAPH_PORT_BASE,
    });
    await waitForSubgraphs(urls, START_TIMEOUT_MS);
    const gateway = launcher.launch(
      'gateway',
      [bundles['flood-gateway']!],
      {
        PORT: String(GATEWAY_PORT),
        REDIS_URL: redis.url,
        MONGODB_URI: ferret.uri,
        CONTROL_DB,
        TOLLGATE_INTERNAL_SECRET: secret.toString('hex'),
        LOG_LEVEL: 'warn',
        ...urls,
      },
      { nodeFlags: [`--max-old-space-size=${MAX_OLD_SPACE_MIB}`, '--expose-gc', '--enable-source-maps'], ipc: true },
    );
    let gatewayExit: string | undefined;
    gateway.once('exit', (code, signal) => (gatewayExit = `exit code ${code}, signal ${signal}`));
    await waitFor(`http://127.0.0.1:${GATEWAY_PORT}/readyz`, undefined, START_TIMEOUT_MS);
    const pid = gateway.pid!;
    const baseline = await ask<FloodGatewayStats>(gateway, 'stats');
    say(
      `gateway up: heap after GC ${mib(baseline.heapUsedAfterGc)} MiB, RSS ${mib(baseline.rss)} MiB, heap limit ${mib(baseline.heapLimit)} MiB`,
    );

    const flooder = await mintDevToken({
      tenant: 'globex',
      email: DEMO_USERS.globex.customer,
      roles: ['customer'],
      ttlSeconds: 7_200,
    });
    const prober = await mintDevToken({
      tenant: 'acme',
      email: DEMO_USERS.acme.customer,
      roles: ['customer'],
      ttlSeconds: 7_200,
    });
    const post = async (token: string, query: string) => {
      const res = await fetch(GATEWAY_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: res.status, text: await res.text() };
    };

    const statuses = new Map<number, number>();
    const probes = { sent: 0, failed: 0, worstMs: 0, failures: [] as string[] };
    const samples: Sample[] = [];
    let next = 0;
    let errors = 0;
    const sampler = setInterval(() => {
      if (gatewayExit === undefined) samples.push({ rssMiB: status(pid, 'VmRSS'), at: Date.now() });
    }, 1_000);
    const progressEvery = Math.max(1, Math.floor(DOCUMENTS / 20));
    const worker = async () => {
      while (gatewayExit === undefined) {
        const i = next++;
        if (i >= DOCUMENTS) return;
        if (i % PROBE_EVERY === 0) {
          const t0 = Date.now();
          probes.sent += 1;
          try {
            const probe = await post(prober, PROBE_QUERY);
            const json = JSON.parse(probe.text) as { data?: unknown; errors?: unknown };
            if (probe.status !== 200 || !json.data || json.errors)
              throw new Error(`${probe.status} ${probe.text.slice(0, 200)}`);
          } catch (error) {
            probes.failed += 1;
            if (probes.failures.length < 5)
              probes.failures.push(`#${i}: ${error instanceof Error ? error.message : String(error)}`);
          }
          probes.worstMs = Math.max(probes.worstMs, Date.now() - t0);
        }
        try {
          const { status: code } = await post(flooder, floodDocument(i));
          statuses.set(code, (statuses.get(code) ?? 0) + 1);
        } catch {
          errors += 1;
        }
        if (i % progressEvery === 0 && i > 0) {
          say(
            `${i} documents, RSS ${samples.at(-1)?.rssMiB.toFixed(0) ?? '?'} MiB, ${((Date.now() - started) / 1000).toFixed(0)} s`,
          );
        }
      }
    };
    const floodStarted = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    clearInterval(sampler);
    const floodS = (Date.now() - floodStarted) / 1000;

    const alive = gatewayExit === undefined;
    const report: Record<string, unknown> = {
      documents: Math.min(next, DOCUMENTS),
      seconds: Math.round(floodS),
      statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      transportErrors: errors,
      probes: { sent: probes.sent, failed: probes.failed, worstMs: probes.worstMs, failures: probes.failures },
      alive,
      baselineHeapMiB: mib(baseline.heapUsedAfterGc),
    };
    if (alive) {
      const after = await ask<FloodGatewayStats>(gateway, 'stats');
      report.heapAfterGcMiB = mib(after.heapUsedAfterGc);
      report.rssMiB = mib(after.rss);
      report.peakRssMiB = Math.round(status(pid, 'VmHWM'));
      report.caches = after.caches;
      if (env.FLOOD_SNAPSHOT) {
        mkdirSync(RESULTS_DIR, { recursive: true });
        const file = join(RESULTS_DIR, `flood-${Date.now()}.heapsnapshot`);
        report.snapshot = (await ask<{ snapshot: string }>(gateway, { snapshot: file })).snapshot;
      }
    } else {
      report.exit = gatewayExit;
      report.peakRssMiB = Math.round(Math.max(...samples.map((s) => s.rssMiB)));
    }
    report.heapBoundMiB = HEAP_BOUND_MIB;
    say(JSON.stringify(report, null, 2));
    failed = !alive || probes.failed > 0 || (report.heapAfterGcMiB as number) > HEAP_BOUND_MIB;
    say(
      failed
        ? 'FAILED'
        : `passed: alive, every probe served, heap after GC ${String(report.heapAfterGcMiB)} MiB ≤ ${HEAP_BOUND_MIB} MiB`,
    );
  } finally {
    await stop();
  }
  process.exit(failed ? 1 : 0);
}

function mib(bytes: number): number {
  return Math.round((bytes / 1_048_576) * 10) / 10;
}

main().catch((error: unknown) => {
  process.stderr.write(`[flood] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
