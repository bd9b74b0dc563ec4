/**
 * The overhead benchmark's settings (bench/run.ts): its knobs from the environment (see run.ts's header), ports,
 * databases, the queries it sends, and whether processes can be pinned to cores.
 */
import { DEFAULT_REDIS_URL } from '../gateway/src/config-common';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR, ROOT } from '../scripts/embedded/ferretdb';
import type { SubgraphName } from '../subgraphs/catalog';

const env = process.env;
export const DURATION_S = Number(env.BENCH_DURATION_S ?? 10);
/** Share of a core each gateway is held to in the capped runs; 0 skips them. */
export const CPU_SHARE = Number(env.BENCH_GATEWAY_CPU_SHARE ?? 0.1);
export const ROUNDS = Number(env.BENCH_ROUNDS ?? 2);
/** Rounds of the paired feature-cost comparison (bench/paired.ts); 0 skips it. */
export const PAIRED_ROUNDS = Number(env.BENCH_PAIRED_ROUNDS ?? 5);
export const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 16);
export const WARMUP_S = 3;
export const FERRET_PORT = 27031;
/** Where the bench's FerretDB serves Go's pprof with BENCH_PROFILE_FERRETDB=1. */
export const FERRET_DEBUG_ADDR = '127.0.0.1:6061';
export const SUBGRAPH_PORT_BASE = 4121;
export const BARE_PORT = 4110;
export const TOLLGATE_PORT = 4111;
export const HIVE_PORT = 4112;
export const HIVE_FEATURES_PORT = 4113;
export const TOLLGATE_LEGACY_PORT = 4114;
/** Tollgate with metrics and tracing on (issue 14): every trace sampled, and one in ten. */
export const TOLLGATE_OBSERVED_PORT = 4115;
export const TOLLGATE_OBSERVED_10_PORT = 4116;
/** The same at 10 % with TRACE_APOLLO_SPANS=true: @apollo/gateway's spans and the AsyncLocalStorage context manager. */
export const TOLLGATE_OBSERVED_10_APOLLO_PORT = 4117;
/** BENCH_SKIP_OBSERVED=1 leaves the observed Tollgates out. */
export const SKIP_OBSERVED = Boolean(env.BENCH_SKIP_OBSERVED);
/** Tollgate with usage metering, the monthly quota and the audit trail off (USAGE_METERING=off, AUDIT_ENABLED=false): their cost, with BENCH_UNMETERED=1. */
export const TOLLGATE_UNMETERED_PORT = 4118;
export const BENCH_UNMETERED = env.BENCH_UNMETERED === '1';
/**
 * Tollgate with deduplication of identical in-flight subgraph queries off (SUBGRAPH_DEDUPLICATION=off), with
 * BENCH_NODEDUPE=1: Tollgate's ratio to it is what deduplication saves (its req/s and the data tier's CPU).
 */
export const TOLLGATE_NODEDUPE_PORT = 4119;
export const BENCH_NODEDUPE = env.BENCH_NODEDUPE === '1';
/**
 * Encryption at rest on and off (bench/encryption.ts): accounts and reviews subgraphs per variant from this port,
 * and the sequential requests per query, variant and round (BENCH_ENCRYPTION_REQUESTS, 300).
 */
export const ENCRYPTION_PORT_BASE = 4141;
export const ENCRYPTION_REQUESTS = Number(env.BENCH_ENCRYPTION_REQUESTS ?? 300);
/**
 * The data tier as it was before issue 20, for its before/after: the four subgraphs from this port with the
 * per-parent connection loader, on a FerretDB built without our patches (tools/ferretdb/_overlay) on
 * FERRET_UPSTREAM_PORT, holding the same seeded data.
 */
export const LEGACY_SUBGRAPH_PORT_BASE = 4131;
export const FERRET_UPSTREAM_PORT = 27032;
/**
 * The gateways: bare Apollo, Tollgate, Hive bare and Hive with its comparable features, and Tollgate with no
 * deduplication on the legacy data tier (`tollgate-legacy`: the platform before issue 20, frontend query, free),
 * and with BENCH_UNMETERED=1 Tollgate without usage metering, the quota and the audit trail (`tollgate-unmetered`),
 * with BENCH_NODEDUPE=1 Tollgate without deduplication of in-flight subgraph queries (`tollgate-nodedupe`).
 */
export type GatewayName =
  | 'bare'
  | 'tollgate'
  | 'hive'
  | 'hive-features'
  | 'tollgate-legacy'
  | 'tollgate-observed'
  | 'tollgate-observed-10'
  | 'tollgate-observed-10-apollo'
  | 'tollgate-unmetered'
  | 'tollgate-nodedupe';
/**
 * Tollgate with metrics on (METRICS_PORT) and tracing on, exporting OTLP/HTTP to a receiver in the bench process
 * (gateway/src/testing/otlp-receiver.ts): `tollgate-observed` samples every request, `tollgate-observed-10` one in
 * ten (parentbased_traceidratio 0.1), `tollgate-observed-10-apollo` one in ten with TRACE_APOLLO_SPANS=true (Apollo's
 * spans, and the AsyncLocalStorage context manager they need). Plain `tollgate` has neither. The subgraphs do not trace in the bench: the
 * figures are the gateway's.
 */
export const OBSERVED_GATEWAYS = ['tollgate-observed', 'tollgate-observed-10', 'tollgate-observed-10-apollo'] as const;
export const HIVE_PREFIX = env.HIVE_PREFIX ?? join(DATA_DIR, 'hive');
export const REDIS_URL = env.REDIS_URL ?? DEFAULT_REDIS_URL;
/**
 * The overhead runs use a redis-server of their own, started from this process and so pinned to core 1 with the
 * rest of the platform: the system's Redis floats between cores, and on core 0 it would run inside the gateway's
 * measurements (a profile then shows its time as the gateway's socket writes).
 */
export const BENCH_REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6391';
export const CONTROL_DB = 'tollgate_bench_control';
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const dbNameFor = (name: SubgraphName) => `tollgate_bench_${name}`;
/** The data-layer measurement's inventory database (bench/data-layer.ts), apart from the load runs' data. */
export const ENTITIES_DB = 'tollgate_bench_entities';
export const HAS_TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0 && cpus().length >= 2;

/** The README's query ("Trying it"). */
export const README_QUERY =
  '{ me { name } products(first: 3) { edges { node { name inStock reviews(first: 2) { edges { node { rating author { name } } } } } } } }';
/** Sequential requests per gateway and query in the latency-at-rest measurement. */
export const REST_REQUESTS = Number(env.BENCH_REST_REQUESTS ?? 200);
/** Idle milliseconds before each request of the latency-at-rest measurement (BENCH_REST_GAP_MS, 0: back to back). */
export const REST_GAP_MS = Number(env.BENCH_REST_GAP_MS ?? 0);
export const FRONTEND_QUERY =
  '{ me { name } products(first: 10) { edges { node { name price inStock shippingEstimate reviews(first: 3) { edges { node { rating author { name } } } } } } } }';
/** The partner's operation: a catalog sync reading products and their stock. */
export const PARTNER_QUERY =
  'query PartnerCatalogSync($first: Int!) { products(first: $first) { edges { node { id sku name price inStock quantity } } } }';
export const PARTNER_VARIABLES = { first: 20 };
export const PARTNER_MANIFEST = 'bench-partner';

export const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);

/**
 * The flags the image (Dockerfile) runs its bundles with. Source maps cost only when a stack trace is formatted: a
 * process that formats one per request pays for it here as it would in production.
 */
export const SHIPPED_FLAGS = ['--enable-source-maps'];

/** One load: a request body, and the headers (and for some gateways a body) each gateway is sent it with. */
export interface Scenario {
  name: string;
  body: string;
  /** Headers per gateway. */
  headers: Record<GatewayName, Record<string, string>>;
  /** A body of its own for some gateways (Hive has no persisted operations of Tollgate's kind). */
  bodies?: Partial<Record<GatewayName, string>>;
  /** Runs `tollgate-legacy` too (only scenarios that read connection fields). */
  legacy?: boolean;
}
