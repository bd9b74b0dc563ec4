/**
 * `npm run bench`: Tollgate against bare @apollo/gateway on the same subgraphs, the cost of each pipeline stage, and
 * the data layer's entity resolution. Prints tables and writes bench/results/bench-<timestamp>.json.
 *
 * 1. Gateway overhead: FerretDB (private data dir .data/bench-ferretdb, port 27031), the four real subgraphs as
 *    separate processes with their own databases (tollgate_bench_<name>) seeded with the demo tenants, a control
 *    plane (tollgate_bench_control) where acme is on a plan whose budget cannot throttle the run — then two gateways
 *    as separate processes: (A) bare @apollo/gateway + @apollo/server standalone (bench/bare-gateway.ts) and (B)
 *    Tollgate (gateway/src/main.ts) with every stage on. autocannon loads them in turn, A B A B, with the same
 *    connections and duration. Each gateway is pinned to core 0; the load generator, the subgraphs, FerretDB and a
 *    redis-server of the run's own share core 1. Then the same loads again with each gateway held to
 *    BENCH_GATEWAY_CPU_SHARE of its core by a cgroup CPU quota ("capped"): free, the data tier on the shared core
 *    sets both gateways' pace and requests/s says little about them; capped, each gateway's own CPU per request
 *    decides its requests/s — the capacity of a gateway core.
 * 2. Stage costs: bench/stages.ts (tinybench).
 * 3. Data layer: `_entities` with 1, 10, 100 Product representations against the inventory subgraph; Mongo commands
 *    per fetch counted with the driver's command monitoring.
 *
 * Also: Hive Gateway bare and with features (bench/hive-gateway.ts, installed on demand into .data/hive), Tollgate on
 * a reviews subgraph with the per-parent loader (before/after of issue 20), MongoDB commands per request (subgraphs
 * with SUBGRAPH_COUNT_COMMANDS=1) and latency at rest (bench/at-rest.ts).
 *
 * Knobs (environment): BENCH_DURATION_S (10), BENCH_ROUNDS (2), BENCH_CONNECTIONS (16), BENCH_GATEWAY_CPU_SHARE (0.1;
 * 0 skips the capped runs), BENCH_PROFILE=1 (writes CPU profiles of both gateways under load to
 * bench/results/profiles), BENCH_SKIP_FREE=1 (capped runs only), BENCH_SKIP_STAGES=1, BENCH_SKIP_LOAD=1,
 * BENCH_SKIP_HIVE=1, HIVE_PREFIX (.data/hive), BENCH_REST_REQUESTS (200).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Types } from 'mongoose';
import { createLogger } from '../common/logger';
import { deriveSubgraphKey } from '../common/internal-token';
import { mintDevToken } from '../cli/dev-token';
import { seedControlPlane } from '../demo/control-plane';
import { DEFAULT_REDIS_URL } from '../gateway/src/config-common';
import { openControlPlane } from '../gateway/src/control-plane/open';
import { DATA_DIR, ROOT, startFerretDB, type EmbeddedFerretDB } from '../scripts/embedded/ferretdb';
import { ensureRedis, type RedisHandle } from '../scripts/embedded/redis';
import { SUBGRAPH_NAMES, type SubgraphName } from '../subgraphs/catalog';
import { inventory } from '../subgraphs/definitions';
import { runInScope } from '../subgraphs/kit/scope';
import { startSubgraph } from '../subgraphs/kit/server';
import { countCommands, entitiesQuery, mintTestToken, userCaller } from '../subgraphs/kit/testing';
import { seedDemoTenants, DEMO_USERS } from '../demo/subgraph-data';
import { buildBundles } from '../scripts/build';
import { formatStageTable, type StageResult } from './stages';
import { commandsPerRequest, latencyAtRest, type RestLatency } from './at-rest';
import { ensureHiveGateway } from './hive-install';

const env = process.env;
const DURATION_S = Number(env.BENCH_DURATION_S ?? 10);
/** Share of a core each gateway is held to in the capped runs; 0 skips them. */
const CPU_SHARE = Number(env.BENCH_GATEWAY_CPU_SHARE ?? 0.1);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 16);
const WARMUP_S = 3;
const FERRET_PORT = 27031;
const SUBGRAPH_PORT_BASE = 4121;
const BARE_PORT = 4110;
const TOLLGATE_PORT = 4111;
const HIVE_PORT = 4112;
const HIVE_FEATURES_PORT = 4113;
const TOLLGATE_LEGACY_PORT = 4114;
/** A reviews subgraph with the per-parent connection loader (the one before issue 20), for the before/after run. */
const LEGACY_REVIEWS_PORT = 4131;
/**
 * The gateways: bare Apollo, Tollgate, Hive bare and Hive with its comparable features, and Tollgate on a reviews
 * subgraph with the old per-parent loader (`tollgate-legacy`: the data tier before issue 20, frontend query, free).
 */
type GatewayName = 'bare' | 'tollgate' | 'hive' | 'hive-features' | 'tollgate-legacy';
const HIVE_PREFIX = env.HIVE_PREFIX ?? join(DATA_DIR, 'hive');
const REDIS_URL = env.REDIS_URL ?? DEFAULT_REDIS_URL;
/**
 * The overhead runs use a redis-server of their own, started from this process and so pinned to core 1 with the
 * rest of the platform: the system's Redis floats between cores, and on core 0 it would run inside the gateway's
 * measurements (a profile then shows its time as the gateway's socket writes).
 */
const BENCH_REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6391';
const CONTROL_DB = 'tollgate_bench_control';
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const dbNameFor = (name: SubgraphName) => `tollgate_bench_${name}`;
const HAS_TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0 && cpus().length >= 2;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** The README's query ("Trying it"). */
const README_QUERY =
  '{ me { name } products(first: 3) { edges { node { name inStock reviews(first: 2) { edges { node { rating author { name } } } } } } } }';
/** Sequential requests per gateway and query in the latency-at-rest measurement. */
const REST_REQUESTS = Number(env.BENCH_REST_REQUESTS ?? 200);
const FRONTEND_QUERY =
  '{ me { name } products(first: 10) { edges { node { name price inStock shippingEstimate reviews(first: 3) { edges { node { rating author { name } } } } } } } }';
/** The partner's operation: a catalog sync reading products and their stock. */
const PARTNER_QUERY =
  'query PartnerCatalogSync($first: Int!) { products(first: $first) { edges { node { id sku name price inStock quantity } } } }';
const PARTNER_VARIABLES = { first: 20 };
const PARTNER_MANIFEST = 'bench-partner';

const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);

interface Proc {
  name: string;
  child: ChildProcess;
}
const procs: Proc[] = [];

/**
 * The flags the image (Dockerfile) runs its bundles with. Source maps cost only when a stack trace is formatted: a
 * process that formats one per request pays for it here as it would in production.
 */
const SHIPPED_FLAGS = ['--enable-source-maps'];

/** Runs a bundle (scripts/build.ts) with plain node: no TypeScript transform in the measurements. */
function launch(name: string, core: number | undefined, args: string[], extraEnv: Record<string, string>, nodeFlags: string[] = []): Proc {
  mkdirSync(join(RESULTS_DIR, 'logs'), { recursive: true });
  const out = openSync(join(RESULTS_DIR, 'logs', `${name}.log`), 'w');
  const command = [process.execPath, ...nodeFlags, ...args];
  const [file, ...argv] = HAS_TASKSET && core !== undefined ? ['taskset', '-c', String(core), ...command] : command;
  // taskset execs the command, so the child's pid is the node process's.
  const child = spawn(file!, argv, { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', out, out] });
  closeSync(out);
  const proc = { name, child };
  procs.push(proc);
  return proc;
}

async function stopAll(): Promise<void> {
  for (const { child } of [...procs].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }
}

async function waitFor(url: string, init: RequestInit | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      if (res.status < 500) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s: ${last}`);
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds per thread name (main thread = the process name, V8 workers, libuv pool…) of a process. */
function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLK_TCK);
    } catch {
      // the thread ended in between
    }
  }
  return byName;
}

function threadDelta(before: Map<string, number>, after: Map<string, number>, requests: number): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, seconds] of after) {
    const ms = ((seconds - (before.get(name) ?? 0)) * 1_000) / Math.max(1, requests);
    if (ms > 0) delta[name] = Number(ms.toFixed(3));
  }
  return delta;
}

/** CPU seconds of the processes that serve every gateway alike, by role. A process that is gone counts 0. */
function platformCpu(pids: Record<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, list] of Object.entries(pids)) {
    out[role] = list.reduce((sum, pid) => {
      try {
        return sum + cpuSeconds(pid);
      } catch {
        return sum;
      }
    }, 0);
  }
  return out;
}


/**
 * Holds a process to `share` of one core with a CPU-bandwidth cgroup (v1 `cpu.cfs_quota_us`, or v2 `cpu.max`).
 * Undefined where no writable CPU controller exists (not root, no cgroup fs): the capped runs are then skipped.
 */
function capCpu(name: string, pid: number, share: number): { release(): void } | undefined {
  const periodUs = 100_000;
  const quotaUs = Math.max(1_000, Math.round(share * periodUs));
  const v1 = '/sys/fs/cgroup/cpu';
  const [root, limit] = existsSync(join(v1, 'cpu.cfs_quota_us'))
    ? [v1, (dir: string) => (writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs)), writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs)))]
    : ['/sys/fs/cgroup', (dir: string) => writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${periodUs}`)];
  const dir = join(root, `tollgate-bench-${name}`);
  try {
    mkdirSync(dir, { recursive: true });
    limit(dir);
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      // never created
    }
    return undefined;
  }
  return {
    release() {
      try {
        writeFileSync(join(root, 'cgroup.procs'), String(pid));
      } catch {
        // the process is gone
      }
      rmdirSync(dir);
    },
  };
}

function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

interface Scenario {
  name: string;
  body: string;
  /** Headers per gateway. */
  headers: Record<GatewayName, Record<string, string>>;
  /** A body of its own for some gateways (Hive has no persisted operations of Tollgate's kind). */
  bodies?: Partial<Record<GatewayName, string>>;
  /** Runs `tollgate-legacy` too (only scenarios that read connection fields). */
  legacy?: boolean;
}

/** `free`: each gateway may use its whole core. `capped`: held to CPU_SHARE of it, so that its own CPU sets its pace. */
type LoadMode = 'free' | 'capped';

interface Round {
  scenario: string;
  mode: LoadMode;
  gateway: GatewayName;
  round: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpuMsPerRequest: number;
  /** The same, per thread name of the gateway process. */
  cpuMsPerRequestByThread: Record<string, number>;
  /** CPU ms per request of the rest of the platform during the round: where the other core's time goes. */
  platformCpuMsPerRequest: Record<string, number>;
  /** Busy share of the platform's core (subgraphs + FerretDB + load generator) during the round, 0–1. */
  platformCoreBusy: number;
  /** CPU ms per second the other gateway spent meanwhile, with no load of its own: what it costs to keep running. */
  otherGatewayIdleCpuMsPerS: number;
}

async function load(url: string, scenario: Scenario, gateway: GatewayName, durationS: number) {
  return autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: durationS,
    headers: { 'content-type': 'application/json', ...scenario.headers[gateway] },
    body: scenario.bodies?.[gateway] ?? scenario.body,
  });
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: { data?: unknown; errors?: unknown[] } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: (await res.json()) as { data?: unknown; errors?: unknown[] } };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function gatewayOverhead(mongoUri: string, ferretPid: number, redis: RedisHandle): Promise<{ rounds: Round[]; summary: Record<string, unknown>[]; peakRss: Record<string, number>; notes: string[]; commands: { scenario: string; gateway: GatewayName; total: number; byCommand: Record<string, number> }[]; atRest: RestLatency[] }> {
  const notes: string[] = [];
  say('seeding the demo tenants into the bench databases…');
  await seedDemoTenants({ mongoUri, dbNameFor });
  await seedControlPlane({ mongoUri, dbName: CONTROL_DB });
  const controlPlane = await openControlPlane({ mongoUri, dbName: CONTROL_DB });
  // A plan whose budget cannot throttle the run, so the figures measure the pipeline and not the refusals.
  await controlPlane.tenants.updatePlan('enterprise', {
    limits: { maxCost: 1_000_000, budget: { capacity: 1_000_000_000, restoreRate: 10_000_000 } },
  });
  await controlPlane.tenants.updateTenant('acme', { plan: 'enterprise' });
  // The partner's operation, published in the manifest its key names (gateway/src/persisted), when that exists.
  const manifests = (controlPlane as { manifests?: { publish(tenantId: string, client: string, manifest: unknown): Promise<unknown> } }).manifests;
  const partnerOperationId = createHash('sha256').update(PARTNER_QUERY, 'utf8').digest('hex');
  if (manifests) {
    await manifests.publish('acme', PARTNER_MANIFEST, {
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [{ id: partnerOperationId, name: 'PartnerCatalogSync', type: 'query', body: PARTNER_QUERY }],
    });
  }
  const issued = await controlPlane.apiKeys.issue({
    tenantId: 'acme',
    clientName: 'bench partner',
    scopes: ['catalog:read', 'inventory:read'],
    manifest: PARTNER_MANIFEST,
    expiresAt: new Date(Date.now() + 86_400_000),
  });

  // Both gateways and the subgraphs run as bundles with plain node, as the image runs them (scripts/build.ts).
  const [tollgateBundle, subgraphBundle, bareBundle, hiveBundle] = await buildBundles({
    outdir: join(DATA_DIR, 'bench-dist'),
    defaults: false,
    entries: [
      { in: 'gateway/src/main.ts', out: 'gateway' },
      { in: 'subgraphs/run.ts', out: 'subgraph' },
      { in: 'bench/bare-gateway.ts', out: 'bare-gateway' },
      { in: 'bench/hive-gateway.ts', out: 'hive-gateway' },
    ],
    log: say,
  });
  const bundles = { tollgate: tollgateBundle!.file, subgraph: subgraphBundle!.file, bare: bareBundle!.file, hive: hiveBundle!.file };
  const hivePrefix = env.BENCH_SKIP_HIVE ? undefined : ensureHiveGateway(HIVE_PREFIX, say);

  const secret = randomBytes(32);
  const urls: Record<string, string> = {};
  const subgraphPids: number[] = [];
  SUBGRAPH_NAMES.forEach((name, i) => {
    const port = SUBGRAPH_PORT_BASE + i;
    urls[`${name.toUpperCase()}_URL`] = `http://127.0.0.1:${port}/graphql`;
    const subgraph = launch(`subgraph-${name}`, 1, [bundles.subgraph, name], {
      PORT: String(port),
      MONGODB_URI: mongoUri,
      MONGODB_DB: dbNameFor(name),
      TOLLGATE_INTERNAL_KEY: deriveSubgraphKey(secret, name).toString('hex'),
      LOG_LEVEL: 'warn',
      SUBGRAPH_COUNT_COMMANDS: '1',
    }, SHIPPED_FLAGS);
    subgraphPids.push(subgraph.child.pid!);
  });
  const legacyReviews = launch('subgraph-reviews-per-parent', 1, [bundles.subgraph, 'reviews'], {
    PORT: String(LEGACY_REVIEWS_PORT),
    MONGODB_URI: mongoUri,
    MONGODB_DB: dbNameFor('reviews'),
    TOLLGATE_INTERNAL_KEY: deriveSubgraphKey(secret, 'reviews').toString('hex'),
    LOG_LEVEL: 'warn',
    SUBGRAPH_COUNT_COMMANDS: '1',
    SUBGRAPH_CONNECTION_LOADER: 'per-parent',
  }, SHIPPED_FLAGS);
  subgraphPids.push(legacyReviews.child.pid!);
  const legacyUrls = { ...urls, REVIEWS_URL: `http://127.0.0.1:${LEGACY_REVIEWS_PORT}/graphql` };
  const countUrls = [...Object.values(urls), legacyUrls.REVIEWS_URL].map((url) => url.replace('/graphql', '/_bench/commands'));
  await waitFor(legacyUrls.REVIEWS_URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  for (const url of Object.values(urls)) await waitFor(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

  const customerEmail = DEMO_USERS.acme.customer;
  const customer = userCaller('acme', customerEmail, ['customer']);
  const profileDir = join(RESULTS_DIR, 'profiles');
  const profileFlags = (name: string) =>
    env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : [];
  // Bare runs as Apollo ships it, with plain node; Tollgate and the subgraphs as the image runs them.
  const bare = launch('gateway-bare', 0, [bundles.bare], {
    PORT: String(BARE_PORT),
    TOLLGATE_INTERNAL_SECRET: secret.toString('hex'),
    BENCH_TENANT: 'acme',
    BENCH_PRINCIPAL: customer.principal,
    BENCH_ROLES: 'customer',
    ...urls,
  }, profileFlags('bare'));
  const tollgate = launch(
    'gateway-tollgate',
    0,
    [bundles.tollgate],
    {
      PORT: String(TOLLGATE_PORT),
      REDIS_URL: redis.url,
      MONGODB_URI: mongoUri,
      CONTROL_DB,
      TOLLGATE_INTERNAL_SECRET: secret.toString('hex'),
      LOG_LEVEL: 'info',
      ...urls,
    },
    [...SHIPPED_FLAGS, ...profileFlags('tollgate')],
  );
  const tollgateLegacy = launch(
    'gateway-tollgate-legacy',
    0,
    [bundles.tollgate],
    { PORT: String(TOLLGATE_LEGACY_PORT), REDIS_URL: redis.url, MONGODB_URI: mongoUri, CONTROL_DB, TOLLGATE_INTERNAL_SECRET: secret.toString('hex'), LOG_LEVEL: 'info', ...legacyUrls },
    SHIPPED_FLAGS,
  );
  const hiveEnv = { TOLLGATE_INTERNAL_SECRET: secret.toString('hex'), HIVE_PREFIX: hivePrefix ?? '', BENCH_TENANT: 'acme', BENCH_PRINCIPAL: customer.principal, BENCH_ROLES: 'customer', ...urls };
  const hive = hivePrefix ? launch('gateway-hive', 0, [bundles.hive], { ...hiveEnv, PORT: String(HIVE_PORT), HIVE_FEATURES: '0' }, profileFlags('hive')) : undefined;
  const hiveFeatures = hivePrefix ? launch('gateway-hive-features', 0, [bundles.hive], { ...hiveEnv, PORT: String(HIVE_FEATURES_PORT), HIVE_FEATURES: '1' }, profileFlags('hive-features')) : undefined;
  const bareUrl = `http://127.0.0.1:${BARE_PORT}/graphql`;
  const tollgateUrl = `http://127.0.0.1:${TOLLGATE_PORT}/graphql`;
  await waitFor(`http://127.0.0.1:${TOLLGATE_PORT}/readyz`, undefined, 90_000);
  await waitFor(bareUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' }, 90_000);
  await waitFor(`http://127.0.0.1:${TOLLGATE_LEGACY_PORT}/readyz`, undefined, 90_000);
  const typename = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' };
  if (hive) await waitFor(`http://127.0.0.1:${HIVE_PORT}/graphql`, typename, 90_000);
  if (hiveFeatures) await waitFor(`http://127.0.0.1:${HIVE_FEATURES_PORT}/graphql`, typename, 90_000);

  const token = await mintDevToken({ tenant: 'acme', email: customerEmail, roles: ['customer'], ttlSeconds: 3_600 });
  const scenarios: Scenario[] = [
    {
      name: 'frontend query (4 subgraphs)',
      body: JSON.stringify({ query: FRONTEND_QUERY }),
      headers: { bare: {}, tollgate: { authorization: `Bearer ${token}` }, hive: {}, 'hive-features': { authorization: `Bearer ${token}` }, 'tollgate-legacy': { authorization: `Bearer ${token}` } },
      legacy: true,
    },
    {
      name: manifests ? 'partner persisted operation' : 'partner operation (API key)',
      body: JSON.stringify({ query: PARTNER_QUERY, variables: PARTNER_VARIABLES, operationName: 'PartnerCatalogSync' }),
      // Hive has no API keys: the Hive runs with features authenticate the partner's operation with the JWT.
      headers: { bare: {}, tollgate: { 'x-api-key': issued.key }, hive: {}, 'hive-features': { authorization: `Bearer ${token}` }, 'tollgate-legacy': {} },
      bodies: { hive: JSON.stringify({ query: PARTNER_QUERY, variables: PARTNER_VARIABLES, operationName: 'PartnerCatalogSync' }) },
    },
  ];
  if (manifests) {
    // Tollgate: the id alone, resolved from the key's manifest. Bare: Apollo Server's APQ, the same id-only request
    // after one registration — the nearest thing a bare gateway has.
    const persisted = JSON.stringify({
      variables: PARTNER_VARIABLES,
      operationName: 'PartnerCatalogSync',
      extensions: { persistedQuery: { version: 1, sha256Hash: partnerOperationId } },
    });
    scenarios[1]!.body = persisted;
    scenarios[1]!.bodies!['hive-features'] = scenarios[1]!.bodies!.hive;
    notes.push('partner operation on Hive: the plain query (Hive has no per-key manifest); with features, authenticated by the JWT (Hive has no API keys)');
    const registration = await post(bareUrl, JSON.stringify({ query: PARTNER_QUERY, variables: PARTNER_VARIABLES, extensions: { persistedQuery: { version: 1, sha256Hash: partnerOperationId } } }), {});
    if (registration.status !== 200) throw new Error(`APQ registration on the bare gateway failed: ${JSON.stringify(registration.json)}`);
    notes.push('partner operation: Tollgate runs it by id from the API key\'s published manifest (gateway/src/persisted); the bare gateway gets the same id-only body through Apollo Server\'s APQ (registered once before the run)');
  } else {
    notes.push('partner operation: gateway/src/persisted was not usable, so (b) is the partner\'s operation sent as a plain query with an X-Api-Key');
  }

  const rounds: Round[] = [];
  const gateways: Partial<Record<GatewayName, { url: string; pid: number }>> = {
    bare: { url: bareUrl, pid: bare.child.pid! },
    tollgate: { url: tollgateUrl, pid: tollgate.child.pid! },
    'tollgate-legacy': { url: `http://127.0.0.1:${TOLLGATE_LEGACY_PORT}/graphql`, pid: tollgateLegacy.child.pid! },
    ...(hive ? { hive: { url: `http://127.0.0.1:${HIVE_PORT}/graphql`, pid: hive.child.pid! } } : {}),
    ...(hiveFeatures ? { 'hive-features': { url: `http://127.0.0.1:${HIVE_FEATURES_PORT}/graphql`, pid: hiveFeatures.child.pid! } } : {}),
  };
  const gatewayOf = (name: GatewayName) => gateways[name]!;
  /** Who runs a scenario in a mode: the before/after of the loader only on the scenario it concerns, free. */
  const runners = (scenario: Scenario, mode: LoadMode) =>
    (['bare', 'tollgate', 'hive', 'hive-features', 'tollgate-legacy'] as const).filter(
      (name) => gateways[name] !== undefined && (name !== 'tollgate-legacy' || (scenario.legacy === true && mode === 'free')),
    );
  const bodyOf = (scenario: Scenario, name: GatewayName) => scenario.bodies?.[name] ?? scenario.body;
  // Every gateway must answer the same thing, or the comparison is meaningless.
  for (const scenario of scenarios) {
    const a = await post(bareUrl, scenario.body, scenario.headers.bare);
    for (const name of runners(scenario, 'free').filter((n) => n !== 'bare')) {
      const b = await post(gatewayOf(name).url, bodyOf(scenario, name), scenario.headers[name]);
      if (a.status !== 200 || b.status !== 200 || a.json.errors || b.json.errors) {
        throw new Error(`${scenario.name}: not a clean answer — bare ${a.status} ${JSON.stringify(a.json).slice(0, 300)} / ${name} ${b.status} ${JSON.stringify(b.json).slice(0, 300)}`);
      }
      if (JSON.stringify(a.json.data) !== JSON.stringify(b.json.data)) throw new Error(`${scenario.name}: ${name} answered different data than bare`);
    }
    say(`${scenario.name}: every gateway answers the same ${JSON.stringify(a.json.data).length} bytes of data`);
  }
  // MongoDB commands per request, sequential, for each scenario; and latency at rest (one connection).
  const commands: { scenario: string; gateway: GatewayName; total: number; byCommand: Record<string, number> }[] = [];
  for (const scenario of scenarios) {
    for (const name of runners(scenario, 'free')) {
      const counted = await commandsPerRequest(gatewayOf(name).url, bodyOf(scenario, name), scenario.headers[name], countUrls);
      commands.push({ scenario: scenario.name, gateway: name, ...counted });
      say(`${scenario.name} · ${name}: ${counted.total} MongoDB commands per request ${JSON.stringify(counted.byCommand)}`);
    }
  }
  const restQueries = [
    { name: '{ me { name } }', query: '{ me { name } }' },
    { name: "README's query", query: README_QUERY },
    { name: 'query (a)', query: FRONTEND_QUERY },
  ];
  const atRest: RestLatency[] = [];
  for (const { name: queryName, query } of restQueries) {
    for (const name of (['tollgate', 'bare', 'hive'] as const).filter((n) => gateways[n])) {
      const headers: Record<string, string> = name === 'tollgate' ? { authorization: `Bearer ${token}` } : {};
      const figures = await latencyAtRest(gatewayOf(name).url, JSON.stringify({ query }), headers, { requests: REST_REQUESTS, warmup: 20 });
      atRest.push({ gateway: name, query: queryName, requests: REST_REQUESTS, ...figures });
      say(`at rest · ${queryName} · ${name}: p50 ${figures.p50Ms.toFixed(2)} ms, p99 ${figures.p99Ms.toFixed(2)} ms`);
    }
  }

  // Redis's CPU is part of Tollgate's cost per request (budgets); known when this run started the server.
  const platform = { subgraphs: subgraphPids, ferretdb: [ferretPid], loadgen: [process.pid], redis: redis.process?.pid ? [redis.process.pid] : [] };
  const measure = async (scenario: Scenario, mode: LoadMode, round: number, gateway: GatewayName) => {
    const { url, pid } = gatewayOf(gateway);
    // The idle cost is measured on one other gateway, unloaded meanwhile.
    const otherPid = gatewayOf(gateway === 'bare' ? 'tollgate' : 'bare').pid;
    const otherBefore = cpuSeconds(otherPid);
    const before = cpuSeconds(pid);
    const threadsBefore = threadCpu(pid);
    const platformBefore = platformCpu(platform);
    const result = await load(url, scenario, gateway, DURATION_S);
    const cpu = cpuSeconds(pid) - before;
    const otherIdle = cpuSeconds(otherPid) - otherBefore;
    const threadsAfter = threadCpu(pid);
    const platformAfter = platformCpu(platform);
    const requests = result.requests.total;
    const platformCpuMsPerRequest: Record<string, number> = {};
    for (const role of Object.keys(platform)) {
      platformCpuMsPerRequest[role] = Number((((platformAfter[role]! - platformBefore[role]!) * 1_000) / Math.max(1, requests)).toFixed(3));
    }
    const corePlatformS = ['subgraphs', 'ferretdb', 'loadgen'].reduce((sum, role) => sum + platformAfter[role]! - platformBefore[role]!, 0);
    const r: Round = {
      scenario: scenario.name,
      mode,
      gateway,
      round,
      requests,
      rps: requests / DURATION_S,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      cpuMsPerRequest: (cpu * 1_000) / Math.max(1, requests),
      cpuMsPerRequestByThread: threadDelta(threadsBefore, threadsAfter, requests),
      platformCpuMsPerRequest,
      platformCoreBusy: Number((corePlatformS / DURATION_S).toFixed(2)),
      otherGatewayIdleCpuMsPerS: Number(((otherIdle * 1_000) / DURATION_S).toFixed(2)),
    };
    rounds.push(r);
    say(`${scenario.name} · ${mode} · ${gateway} · round ${round}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cpuMsPerRequest.toFixed(3)} ms CPU/req, non-2xx ${r.non2xx}, errors ${r.errors}; by thread ${JSON.stringify(r.cpuMsPerRequestByThread)}; platform CPU ms/req ${JSON.stringify(r.platformCpuMsPerRequest)}, its core ${(r.platformCoreBusy * 100).toFixed(0)} % busy`);
  };
  for (const scenario of scenarios) {
    for (const gateway of runners(scenario, 'free')) {
      say(`warming ${gateway} on ${scenario.name} (${WARMUP_S} s)…`);
      await load(gatewayOf(gateway).url, scenario, gateway, WARMUP_S);
    }
    for (let round = 1; round <= (env.BENCH_SKIP_FREE ? 0 : ROUNDS); round += 1) {
      for (const gateway of runners(scenario, 'free')) await measure(scenario, 'free', round, gateway);
    }
  }
  const modes: LoadMode[] = env.BENCH_SKIP_FREE ? [] : ['free'];
  if (CPU_SHARE > 0) {
    const capped = (['bare', 'tollgate', 'hive', 'hive-features'] as const).filter((name) => gateways[name]);
    const caps = capped.map((gateway) => capCpu(`gateway-${gateway}`, gatewayOf(gateway).pid, CPU_SHARE));
    if (caps.every((cap) => cap !== undefined)) {
      modes.push('capped');
      try {
        for (const scenario of scenarios) {
          for (let round = 1; round <= ROUNDS; round += 1) {
            for (const gateway of runners(scenario, 'capped')) await measure(scenario, 'capped', round, gateway);
          }
        }
      } finally {
        for (const cap of caps) cap?.release();
      }
      notes.push(`capped: each gateway held to ${CPU_SHARE * 100} % of its core by a cgroup CPU quota, so that its own CPU per request, not the data tier, sets its requests/s — the capacity of a gateway core`);
    } else {
      for (const cap of caps) cap?.release();
      notes.push('capped runs skipped: no writable cgroup CPU controller here (they need root and cgroup v1 cpu or v2 cpu.max)');
    }
  }
  const peakRss: Record<string, number> = {};
  for (const [name, gateway] of Object.entries(gateways)) peakRss[name] = peakRssMiB(gateway.pid);

  const summary: Record<string, unknown>[] = [];
  for (const mode of modes) {
    for (const scenario of scenarios) {
      const agg = (gateway: GatewayName) => {
        const rs = rounds.filter((r) => r.scenario === scenario.name && r.mode === mode && r.gateway === gateway);
        // Measured while the other gateway was loaded.
        const idleCpuMsPerS = median(rounds.filter((r) => r.mode === mode && r.gateway !== gateway).map((r) => r.otherGatewayIdleCpuMsPerS));
        return {
          idleCpuMsPerS,
          /** Per request, less what the gateway spends per second anyway (control-plane refreshes, timers, GC). */
          netCpuMsPerRequest: median(rs.map((r) => r.cpuMsPerRequest - idleCpuMsPerS / Math.max(r.rps, 1e-9))),
          rps: median(rs.map((r) => r.rps)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          cpuMsPerRequest: median(rs.map((r) => r.cpuMsPerRequest)),
          failed: rs.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
          platformCoreBusy: median(rs.map((r) => r.platformCoreBusy)),
          dataTierCpuMsPerRequest: median(rs.map((r) => (r.platformCpuMsPerRequest.subgraphs ?? 0) + (r.platformCpuMsPerRequest.ferretdb ?? 0))),
        };
      };
      const a = agg('bare');
      const b = agg('tollgate');
      const others = Object.fromEntries(runners(scenario, mode).filter((n) => n !== 'bare' && n !== 'tollgate').map((n) => [n, agg(n)]));
      /** Tollgate's figures over each other gateway's: req/s, CPU per request and p50. */
      const vsTollgate = Object.fromEntries(
        runners(scenario, mode)
          .filter((n) => n !== 'tollgate')
          .map((n) => {
            const o = n === 'bare' ? a : others[n]!;
            return [n, { rps: b.rps / o.rps, cpuMsPerRequest: b.cpuMsPerRequest / o.cpuMsPerRequest, netCpuMsPerRequest: b.netCpuMsPerRequest / o.netCpuMsPerRequest, p50: b.p50 / o.p50, dataTierCpuMsPerRequest: b.dataTierCpuMsPerRequest / o.dataTierCpuMsPerRequest }];
          }),
      );
      summary.push({
        scenario: scenario.name,
        mode,
        gateways: runners(scenario, mode),
        bare: a,
        tollgate: b,
        ...others,
        vsTollgate,
        ratio: {
        rps: b.rps / a.rps,
        p50: b.p50 / a.p50,
        p99: b.p99 / a.p99,
        cpuMsPerRequest: b.cpuMsPerRequest / a.cpuMsPerRequest,
        netCpuMsPerRequest: b.netCpuMsPerRequest / a.netCpuMsPerRequest,
      },
      });
    }
  }

  await controlPlane.apiKeys.revoke(issued.record.id).catch(() => undefined);
  await controlPlane.close();
  return { rounds, summary, peakRss, notes, commands, atRest };
}

interface EntityResult {
  references: number;
  fetches: number;
  commandsPerFetch: number;
  commands: string[];
  medianMs: number;
  p99Ms: number;
}

async function dataLayer(mongoUri: string): Promise<EntityResult[]> {
  const secret = randomBytes(32);
  const key = deriveSubgraphKey(secret, 'inventory');
  const running = await startSubgraph(inventory, {
    port: 0,
    mongoUri,
    dbName: dbNameFor('inventory'),
    internalKey: key,
    logger: createLogger({ level: 'warn', sink: () => {} }),
    monitorCommands: true,
  });
  try {
    // 100 stocked products of acme, deterministic ids so reruns reuse them.
    const ids = Array.from({ length: 100 }, (_, i) => `be0c${i.toString(16).padStart(20, '0')}`);
    const Stock = running.connection.model('Stock');
    await runInScope({ tenantId: 'acme', principal: 'bench', roles: ['admin'], requestId: 'bench-seed' }, () =>
      Stock.bulkWrite(
        ids.map((id, i) => ({
          updateOne: { filter: { productId: new Types.ObjectId(id) }, update: { $setOnInsert: { quantity: i } }, upsert: true },
        })),
      ),
    );
    const query = entitiesQuery('... on Product { inStock quantity }');
    const caller = userCaller('acme', DEMO_USERS.acme.staff, ['staff']);
    const results: EntityResult[] = [];
    for (const n of [1, 10, 100]) {
      const body = JSON.stringify({ query, variables: { representations: ids.slice(0, n).map((id) => ({ __typename: 'Product', id })) } });
      const once = async () => {
        const res = await fetch(running.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'tollgate-context': mintTestToken(key, 'inventory', query, caller) },
          body,
        });
        const json = (await res.json()) as { data?: { _entities: unknown[] }; errors?: unknown[] };
        if (res.status !== 200 || json.errors || json.data?._entities.length !== n) throw new Error(`_entities(${n}) failed: ${JSON.stringify(json).slice(0, 300)}`);
      };
      for (let i = 0; i < 30; i += 1) await once();
      const samples: number[] = [];
      const fetches = 300;
      const { commands } = await countCommands(running, async () => {
        for (let i = 0; i < fetches; i += 1) {
          const started = process.hrtime.bigint();
          await once();
          samples.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      });
      samples.sort((a, b) => a - b);
      results.push({
        references: n,
        fetches,
        commandsPerFetch: commands.length / fetches,
        commands: [...new Set(commands)],
        medianMs: samples[Math.floor(samples.length / 2)]!,
        p99Ms: samples[Math.floor(samples.length * 0.99)]!,
      });
    }
    return results;
  } finally {
    await running.stop();
  }
}

/**
 * The stage microbenchmarks in a process of their own (on core 1, like this one): after the load runs, this
 * process's heap is full of the load generator's results, and its garbage collection would land in the figures.
 */
function stageBenchmarks(): StageResult[] {
  say('stage microbenchmarks (bench/stages.ts, its own process)…');
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/stages.ts'), '--json'], {
    cwd: ROOT,
    env: { ...env, REDIS_URL },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`bench/stages.ts failed with exit code ${run.status}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '[]') as StageResult[];
}

function machine() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
    pinning: HAS_TASKSET
      ? 'gateway under test pinned to core 0 (taskset); load generator, subgraphs, FerretDB and the gateways\' Redis on core 1'
      : 'no taskset: processes not pinned',
  };
}

function pad(value: string | number, width: number): string {
  return String(value).padStart(width);
}

async function main(): Promise<void> {
  const started = Date.now();
  if (HAS_TASKSET) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const report: Record<string, unknown> = { machine: machine(), settings: { durationS: DURATION_S, rounds: ROUNDS, connections: CONNECTIONS, warmupS: WARMUP_S } };
  let ferret: EmbeddedFerretDB | undefined;
  let redis: RedisHandle | undefined;
  let benchRedis: RedisHandle | undefined;
  const stop = async () => {
    await stopAll();
    await ferret?.stop();
    await redis?.stop();
    await benchRedis?.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    say('starting FerretDB (.data/bench-ferretdb) and checking Redis…');
    ferret = await startFerretDB({ port: FERRET_PORT, dataDir: join(DATA_DIR, 'bench-ferretdb'), log: say });
    redis = await ensureRedis(REDIS_URL, say);

    if (!env.BENCH_SKIP_LOAD) {
      benchRedis = await ensureRedis(BENCH_REDIS_URL, say);
      const overhead = await gatewayOverhead(ferret.uri, ferret.process.pid!, benchRedis);
      report.overhead = overhead;
      await stopAll();
    }
    say('data layer: _entities against the inventory subgraph…');
    report.entities = await dataLayer(ferret.uri);
    if (!env.BENCH_SKIP_STAGES) report.stages = stageBenchmarks();
  } finally {
    await stop();
  }
  report.elapsedS = Math.round((Date.now() - started) / 1000);
  print(report);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  say(`wrote ${file}`);
}

function print(report: Record<string, unknown>): void {
  const m = report.machine as ReturnType<typeof machine>;
  const lines = ['', `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.date}`, m.pinning, ''];
  const overhead = report.overhead as Awaited<ReturnType<typeof gatewayOverhead>> | undefined;
  if (overhead) {
    const s = report.settings as { durationS: number; rounds: number; connections: number };
    lines.push(`Gateway overhead (${s.connections} connections, ${s.rounds} × ${s.durationS} s per gateway, A B A B; medians of rounds)`);
    lines.push(
      `${'scenario'.padEnd(36)} ${'gateway'.padEnd(15)} ${pad('req/s', 8)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('CPU ms/req', 11)} ${pad('net', 9)} ${pad('idle', 8)} ${pad('failed', 7)} ${pad('data ms/req', 12)} ${pad('core 1', 8)}`,
    );
    for (const row of overhead.summary as ({ scenario: string; mode: LoadMode; gateways: GatewayName[]; vsTollgate: Record<string, Record<string, number>> } & Record<string, Record<string, number>>)[]) {
      const label = row.mode === 'capped' ? `${row.scenario}, capped` : row.scenario;
      for (const g of row.gateways) {
        const v = row[g]!;
        lines.push(
          `${label.padEnd(36)} ${g.padEnd(15)} ${pad(v.rps!.toFixed(1), 8)} ${pad(v.p50!, 7)} ${pad(v.p99!, 7)} ${pad(v.cpuMsPerRequest!.toFixed(3), 11)} ${pad(v.netCpuMsPerRequest!.toFixed(3), 9)} ${pad(v.idleCpuMsPerS!.toFixed(1), 8)} ${pad(v.failed!, 7)} ${pad(v.dataTierCpuMsPerRequest!.toFixed(1), 12)} ${pad((v.platformCoreBusy! * 100).toFixed(0) + ' %', 8)}`,
        );
      }
      for (const [other, r] of Object.entries(row.vsTollgate)) {
        lines.push(
          `${''.padEnd(36)} ${`T/${other}`.padEnd(15)} ${pad(r.rps!.toFixed(2) + '×', 8)} ${pad(r.p50!.toFixed(2) + '×', 7)} ${pad('', 7)} ${pad(r.cpuMsPerRequest!.toFixed(2) + '×', 11)} ${pad(r.netCpuMsPerRequest!.toFixed(2) + '×', 9)} ${pad('', 8)} ${pad('', 7)} ${pad(r.dataTierCpuMsPerRequest!.toFixed(2) + '×', 12)}`,
        );
      }
    }
    lines.push(
      'CPU ms/req: the gateway process\'s own (utime + stime) per request. idle: CPU ms per second it spends unloaded (measured during the other gateway\'s rounds). net: CPU ms/req less that idle rate. data ms/req: the subgraphs\' and FerretDB\'s. core 1: how busy the core they share with the load generator was — at ~100 % they, not the gateway, set the requests/s.',
    );
    lines.push(`peak RSS (VmHWM): ${Object.entries(overhead.peakRss).map(([name, mib]) => `${name} ${mib.toFixed(0)} MiB`).join(', ')}`);
    lines.push('');
    lines.push('MongoDB commands per request (sequential, all subgraphs, command monitoring)');
    for (const c of overhead.commands) lines.push(`${c.scenario.padEnd(36)} ${c.gateway.padEnd(15)} ${pad(c.total.toFixed(2), 6)}  ${JSON.stringify(c.byCommand)}`);
    lines.push('');
    lines.push('Latency at rest (one connection, sequential requests)');
    for (const l of overhead.atRest) lines.push(`${l.query.padEnd(20)} ${l.gateway.padEnd(10)} p50 ${pad(l.p50Ms.toFixed(2), 7)} ms  p99 ${pad(l.p99Ms.toFixed(2), 7)} ms  (${l.requests} requests)`);
    for (const note of overhead.notes) lines.push(`note: ${note}`);
    lines.push('');
  }
  const entities = report.entities as EntityResult[] | undefined;
  if (entities) {
    lines.push('Data layer: _entities(Product) on inventory, sequential fetches');
    lines.push(`${'references'.padEnd(12)} ${pad('Mongo cmds/fetch', 17)} ${pad('median ms', 10)} ${pad('p99 ms', 8)}  commands`);
    for (const e of entities) lines.push(`${String(e.references).padEnd(12)} ${pad(e.commandsPerFetch.toFixed(2), 17)} ${pad(e.medianMs.toFixed(2), 10)} ${pad(e.p99Ms.toFixed(2), 8)}  ${e.commands.join(', ')}`);
    lines.push('');
  }
  const stages = report.stages as StageResult[] | undefined;
  if (stages) {
    lines.push('Stage costs (bench/stages.ts in a process of its own, core 1)');
    lines.push(formatStageTable(stages));
    lines.push('');
  }
  lines.push(`elapsed ${String(report.elapsedS)} s`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch(async (error: unknown) => {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await stopAll();
  process.exit(1);
});
