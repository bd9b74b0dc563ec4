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
 * bench/results/profiles; BENCH_PROFILE_SUBGRAPHS=1 the four subgraphs' under profiles/subgraphs), BENCH_SKIP_FREE=1
 * (capped runs only), BENCH_PROFILE_FERRETDB=1 (FerretDB serves Go's /debug/pprof on 127.0.0.1:6061),
 * BENCH_SKIP_STAGES=1, BENCH_SKIP_LOAD=1, BENCH_SKIP_HIVE=1, BENCH_SKIP_OBSERVED=1 (no Tollgate with metrics and
 * tracing on), HIVE_PREFIX (.data/hive), BENCH_REST_REQUESTS (200), BENCH_REST_GAP_MS (0), BENCH_UNMETERED=1 (adds Tollgate with usage
 * metering, the quota and the audit trail off, `tollgate-unmetered`: Tollgate's ratio to it is their cost),
 * BENCH_SKIP_ENCRYPTION=1, BENCH_ENCRYPTION_REQUESTS (300), BENCH_NODEDUPE=1 (adds Tollgate with deduplication of
 * identical in-flight subgraph queries off, `tollgate-nodedupe`: Tollgate's ratio to it is what deduplication saves),
 * BENCH_PAIRED_ROUNDS (5; 0 skips the paired feature costs: plain Tollgate beside metrics + 10 % tracing, and beside
 * metering + audit off with BENCH_UNMETERED=1; paired.ts).
 * 4. Encryption at rest: the accounts and reviews subgraphs' CPU per request with it on and off (bench/encryption.ts).
 *
 * The parts: bench/settings.ts (knobs, ports, queries), bench/processes.ts (child processes and subgraphs, shared
 * with bench/flood.ts), bench/platform.ts (control plane and processes), bench/scenarios.ts (what is sent, parity,
 * commands per request, latency at rest), bench/load.ts (load rounds, cgroup caps), bench/cpu.ts (/proc readings),
 * bench/data-layer.ts, bench/report.ts (summary and tables).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintDevToken } from '../cli/dev-token';
import { DATA_DIR, ROOT, startFerretDB, type EmbeddedFerretDB } from '../scripts/embedded/ferretdb';
import { ensureRedis, type RedisHandle } from '../scripts/embedded/redis';
import { userCaller } from '../subgraphs/kit/testing';
import { DEMO_USERS } from '../demo/subgraph-data';
import { peakRssMiB } from './cpu';
import { dataLayer } from './data-layer';
import { encryptionBench } from './encryption';
import { capCpu, load, measureRound, type LoadMode, type Round } from './load';
import { prepareControlPlane, seedBenchData, startPlatform } from './platform';
import { buildBenchBundles, createLauncher, type Launcher } from './processes';
import { machine, print, summarise, type Overhead } from './report';
import { pairedOverhead } from './paired';
import { buildScenarios, checkSameAnswers, countCommands, measureAtRest, runners } from './scenarios';
import {
  BENCH_REDIS_URL,
  CONNECTIONS,
  CPU_SHARE,
  DURATION_S,
  FERRET_DEBUG_ADDR,
  FERRET_PORT,
  FERRET_UPSTREAM_PORT,
  HAS_TASKSET,
  REDIS_URL,
  RESULTS_DIR,
  PAIRED_ROUNDS,
  ROUNDS,
  SKIP_OBSERVED,
  WARMUP_S,
  say,
  type GatewayName,
} from './settings';
import type { StageResult } from './stages';
import { startOtlpReceiver } from '../gateway/src/testing/otlp-receiver';

const env = process.env;

async function gatewayOverhead(
  launcher: Launcher,
  mongoUri: string,
  ferretPid: number,
  redis: RedisHandle,
  legacyFerret: EmbeddedFerretDB,
): Promise<Overhead> {
  const notes: string[] = [];
  const control = await prepareControlPlane(mongoUri);
  const customerEmail = DEMO_USERS.acme.customer;
  const customer = userCaller('acme', customerEmail, ['customer']);
  // The observed Tollgates export their spans here, in this process (core 1, with the load generator); it only
  // counts them, so a long run does not grow this process's heap.
  const traces = SKIP_OBSERVED ? undefined : await startOtlpReceiver({ keep: false });
  await seedBenchData(legacyFerret.uri);
  const { gateways, subgraphPids, legacySubgraphPids, countUrls } = await startPlatform({
    launcher,
    mongoUri,
    legacyMongoUri: legacyFerret.uri,
    redis,
    principal: customer.principal,
    ...(traces ? { tracesUrl: traces.url } : {}),
  });

  const token = await mintDevToken({ tenant: 'acme', email: customerEmail, roles: ['customer'], ttlSeconds: 3_600 });
  const scenarios = await buildScenarios(token, control, gateways.bare!.url, notes);
  const gatewayOf = (name: GatewayName) => gateways[name]!;
  await checkSameAnswers(gateways, scenarios);
  // MongoDB commands per request, sequential, for each scenario; and latency at rest (one connection).
  const commands = await countCommands(gateways, scenarios, countUrls);
  const atRest = await measureAtRest(gateways, token);

  // Redis's CPU is part of Tollgate's cost per request (budgets); known when this run started the server.
  const platform = {
    subgraphs: subgraphPids,
    ferretdb: [ferretPid],
    loadgen: [process.pid],
    redis: redis.process?.pid ? [redis.process.pid] : [],
  };
  const legacyPlatform = { ...platform, subgraphs: legacySubgraphPids, ferretdb: [legacyFerret.process.pid!] };
  const platformOf = (gateway: GatewayName) => (gateway === 'tollgate-legacy' ? legacyPlatform : platform);
  const rounds: Round[] = [];
  const measure = async (scenario: (typeof scenarios)[number], mode: LoadMode, round: number, gateway: GatewayName) => {
    rounds.push(await measureRound({ gatewayOf, platformOf }, scenario, mode, round, gateway));
  };
  for (const scenario of scenarios) {
    for (const gateway of runners(gateways, scenario, 'free')) {
      // The legacy data tier's subgraphs serve tollgate-legacy alone, at a tenth of the others' rate: a few seconds
      // leave them half-compiled (their first round cost a third more CPU per request than their second), so they
      // get longer to warm up.
      const warmS = gateway === 'tollgate-legacy' ? WARMUP_S * 5 : WARMUP_S;
      say(`warming ${gateway} on ${scenario.name} (${warmS} s)…`);
      await load(gatewayOf(gateway).url, scenario, gateway, warmS);
    }
    for (let round = 1; round <= (env.BENCH_SKIP_FREE ? 0 : ROUNDS); round += 1) {
      for (const gateway of runners(gateways, scenario, 'free')) await measure(scenario, 'free', round, gateway);
    }
  }
  const modes: LoadMode[] = env.BENCH_SKIP_FREE ? [] : ['free'];
  if (CPU_SHARE > 0) {
    const capped = (
      [
        'bare',
        'tollgate',
        'tollgate-observed',
        'tollgate-observed-10',
        'tollgate-observed-10-apollo',
        'tollgate-unmetered',
        'tollgate-nodedupe',
        'hive',
        'hive-features',
      ] as const
    ).filter((name) => gateways[name]);
    const caps = capped.map((gateway) => capCpu(`gateway-${gateway}`, gatewayOf(gateway).pid, CPU_SHARE));
    if (caps.every((cap) => cap !== undefined)) {
      modes.push('capped');
      try {
        for (const scenario of scenarios) {
          for (let round = 1; round <= ROUNDS; round += 1) {
            for (const gateway of runners(gateways, scenario, 'capped'))
              await measure(scenario, 'capped', round, gateway);
          }
        }
      } finally {
        for (const cap of caps) cap?.release();
      }
      notes.push(
        `capped: each gateway held to ${CPU_SHARE * 100} % of its core by a cgroup CPU quota, so that its own CPU per request, not the data tier, sets its requests/s — the capacity of a gateway core`,
      );
    } else {
      for (const cap of caps) cap?.release();
      notes.push(
        'capped runs skipped: no writable cgroup CPU controller here (they need root and cgroup v1 cpu or v2 cpu.max)',
      );
    }
  }
  // What a feature costs, as the issues ask (14: metrics + 10 % tracing; 17: metering + audit), on both gateways
  // loaded at once (paired.ts says why): [base, variant].
  const pairs = (
    [
      ['tollgate', 'tollgate-observed-10'],
      ['tollgate-unmetered', 'tollgate'],
    ] as const
  ).filter(([base, variant]) => gateways[base] && gateways[variant]);
  const paired =
    PAIRED_ROUNDS > 0 && pairs.length > 0
      ? await pairedOverhead({ gatewayOf, pairs, scenarios, rounds: PAIRED_ROUNDS, durationS: DURATION_S })
      : undefined;
  const peakRss: Record<string, number> = {};
  for (const [name, gateway] of Object.entries(gateways)) peakRss[name] = peakRssMiB(gateway.pid);
  const summary = summarise(rounds, scenarios, modes, gateways);

  if (traces) {
    notes.push(
      `observed: tollgate-observed (metrics + tracing, every request sampled) and tollgate-observed-10 (metrics + tracing, parentbased_traceidratio 0.1) and tollgate-observed-10-apollo (the same with TRACE_APOLLO_SPANS=true) exported ${traces.count()} spans over OTLP/HTTP to a receiver in the bench process; plain tollgate has neither`,
    );
    // The observed gateways flush their last spans as they stop: the receiver must outlive them, or a gateway waits
    // on the export until it is killed (and a BENCH_PROFILE run loses its profile).
    await launcher.stopAll();
    await traces.close();
  }
  await control.controlPlane.apiKeys.revoke(control.issued.record.id).catch(() => undefined);
  await control.controlPlane.close();
  return { rounds, summary, peakRss, notes, commands, atRest, ...(paired ? { paired } : {}) };
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

const launcher = createLauncher({ logsDir: join(RESULTS_DIR, 'logs'), pin: HAS_TASKSET });

async function main(): Promise<void> {
  const started = Date.now();
  if (HAS_TASKSET) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const report: Record<string, unknown> = {
    machine: machine(),
    settings: { durationS: DURATION_S, rounds: ROUNDS, connections: CONNECTIONS, warmupS: WARMUP_S },
  };
  let ferret: EmbeddedFerretDB | undefined;
  let redis: RedisHandle | undefined;
  let benchRedis: RedisHandle | undefined;
  let legacyFerret: EmbeddedFerretDB | undefined;
  const stop = async () => {
    await launcher.stopAll();
    await ferret?.stop();
    await legacyFerret?.stop();
    await redis?.stop();
    await benchRedis?.stop();
  };
  // Interrupted or killed (a timeout, pkill): its gateways, subgraphs, FerretDB and Redis go with it.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    process.once(signal, () => void stop().then(() => process.exit(code)));
  try {
    say('starting FerretDB (.data/bench-ferretdb) and checking Redis…');
    ferret = await startFerretDB({
      port: FERRET_PORT,
      dataDir: join(DATA_DIR, 'bench-ferretdb'),
      log: say,
      // BENCH_PROFILE_FERRETDB=1: Go's pprof on FERRET_DEBUG_ADDR, e.g. `go tool pprof -top
      // http://127.0.0.1:6061/debug/pprof/profile?seconds=30` during a load round.
      ...(env.BENCH_PROFILE_FERRETDB ? { debugAddr: FERRET_DEBUG_ADDR } : {}),
    });
    redis = await ensureRedis(REDIS_URL, say);

    if (!env.BENCH_SKIP_LOAD) {
      benchRedis = await ensureRedis(BENCH_REDIS_URL, say);
      say('starting FerretDB as released (.data/bench-ferretdb-upstream), the legacy data tier’s…');
      legacyFerret = await startFerretDB({
        port: FERRET_UPSTREAM_PORT,
        dataDir: join(DATA_DIR, 'bench-ferretdb-upstream'),
        log: say,
        upstream: true,
      });
      const overhead = await gatewayOverhead(launcher, ferret.uri, ferret.process.pid!, benchRedis, legacyFerret);
      report.overhead = overhead;
      await launcher.stopAll();
    }
    say('data layer: _entities against the inventory subgraph…');
    report.entities = await dataLayer(ferret.uri);
    if (!env.BENCH_SKIP_STAGES) report.stages = stageBenchmarks();
    if (!env.BENCH_SKIP_ENCRYPTION) {
      say('encryption at rest: the data tier with it on and off…');
      const { subgraph } = await buildBenchBundles(join(DATA_DIR, 'bench-dist'), {}, say);
      report.encryption = await encryptionBench(launcher, ferret.uri, subgraph);
      await launcher.stopAll();
    }
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

main().catch(async (error: unknown) => {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await launcher.stopAll();
  process.exit(1);
});
