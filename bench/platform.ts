/**
 * The overhead benchmark's platform (bench/run.ts): the demo tenants and the control plane (acme on a plan whose
 * budget cannot throttle the run, the partner's manifest and API key), then the subgraphs, the data tier as it was
 * before issue 20 (legacy: per-parent loader, upstream FerretDB), and the gateways as bundles — each gateway pinned
 * to core 0, the rest to core 1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { seedControlPlane } from '../demo/control-plane';
import { openControlPlane } from '../gateway/src/control-plane/open';
import { DATA_DIR } from '../scripts/embedded/ferretdb';
import type { RedisHandle } from '../scripts/embedded/redis';
import { seedDemoTenants } from '../demo/subgraph-data';
import { SUBGRAPH_NAMES } from '../subgraphs/catalog';
import { openDatabase } from '../subgraphs/kit/database';
import { ensureHiveGateway } from './hive-install';
import type { RunningGateway } from './load';
import { buildBenchBundles, launchSubgraphs, waitFor, waitForSubgraphs, type Launcher } from './processes';
import {
  BARE_PORT,
  CONTROL_DB,
  HIVE_FEATURES_PORT,
  HIVE_PORT,
  HIVE_PREFIX,
  LEGACY_SUBGRAPH_PORT_BASE,
  PARTNER_MANIFEST,
  PARTNER_QUERY,
  RESULTS_DIR,
  SHIPPED_FLAGS,
  SUBGRAPH_PORT_BASE,
  TOLLGATE_LEGACY_PORT,
  TOLLGATE_OBSERVED_10_APOLLO_PORT,
  TOLLGATE_OBSERVED_10_PORT,
  TOLLGATE_OBSERVED_PORT,
  TOLLGATE_UNMETERED_PORT,
  BENCH_UNMETERED,
  TOLLGATE_NODEDUPE_PORT,
  BENCH_NODEDUPE,
  TOLLGATE_PORT,
  dbNameFor,
  say,
  type GatewayName,
} from './settings';

const env = process.env;

export interface BenchControlPlane {
  controlPlane: Awaited<ReturnType<typeof openControlPlane>>;
  /** Whether the partner's operation is published in a manifest (gateway/src/persisted exists). */
  manifests: boolean;
  partnerOperationId: string;
  /** The partner's API key. */
  issued: { key: string; record: { id: string } };
}

/**
 * The subgraphs' bench databases on `mongoUri`, dropped and seeded with the demo tenants. Every run on the same
 * data: rows an earlier run or another tool left there would make the finds of FerretDB as released (which decode
 * every row of a collection) dearer, and seeding is an upsert that would keep them.
 */
export async function seedBenchData(mongoUri: string): Promise<void> {
  for (const name of SUBGRAPH_NAMES) {
    const connection = await openDatabase({ mongoUri, dbName: dbNameFor(name) });
    await connection.dropDatabase();
    await connection.close();
  }
  say(`seeding the demo tenants into the bench databases on ${mongoUri}…`);
  await seedDemoTenants({ mongoUri, dbNameFor });
}

/** Seeds the bench databases and prepares acme in the control plane. The caller closes `controlPlane`. */
export async function prepareControlPlane(mongoUri: string): Promise<BenchControlPlane> {
  await seedBenchData(mongoUri);
  await seedControlPlane({ mongoUri, dbName: CONTROL_DB });
  const controlPlane = await openControlPlane({ mongoUri, dbName: CONTROL_DB });
  // A plan whose budget cannot throttle the run, so the figures measure the pipeline and not the refusals.
  // A monthly quota it cannot reach either, so Tollgate checks it on every operation as it would a real plan's.
  await controlPlane.tenants.updatePlan('enterprise', {
    limits: {
      maxCost: 1_000_000,
      budget: { capacity: 1_000_000_000, restoreRate: 10_000_000 },
      monthlyCostQuota: 1_000_000_000_000_000,
    },
  });
  await controlPlane.tenants.updateTenant('acme', { plan: 'enterprise' });
  // The partner's operation, published in the manifest its key names (gateway/src/persisted), when that exists.
  const manifests = (
    controlPlane as { manifests?: { publish(tenantId: string, client: string, manifest: unknown): Promise<unknown> } }
  ).manifests;
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
  return { controlPlane, manifests: manifests !== undefined, partnerOperationId, issued };
}

export interface PlatformOptions {
  launcher: Launcher;
  mongoUri: string;
  redis: RedisHandle;
  /** The principal bare Apollo and Hive put in the subgraphs' context (they have no authentication of their own). */
  principal: string;
  /** The OTLP/HTTP receiver the observed Tollgates export to; absent, they are not started. */
  tracesUrl?: string;
  /** FerretDB as released (seeded alike), the legacy data tier's: `tollgate-legacy`'s subgraphs read it. */
  legacyMongoUri: string;
}

export interface Platform {
  gateways: Partial<Record<GatewayName, RunningGateway>>;
  subgraphPids: number[];
  /** The legacy data tier's four subgraphs (`tollgate-legacy` alone uses them). */
  legacySubgraphPids: number[];
  /** The subgraphs' command counters (`GET /_bench/commands`), the legacy subgraphs' too. */
  countUrls: string[];
}

/** Builds the bundles, starts the subgraphs and the gateways, and waits until every one answers. */
export async function startPlatform({
  launcher,
  mongoUri,
  redis,
  principal,
  tracesUrl,
  legacyMongoUri,
}: PlatformOptions): Promise<Platform> {
  // Both gateways and the subgraphs run as bundles with plain node, as the image runs them (scripts/build.ts).
  const bundles = await buildBenchBundles(
    join(DATA_DIR, 'bench-dist'),
    {
      gateway: 'gateway/src/main.ts',
      'bare-gateway': 'bench/bare-gateway.ts',
      'hive-gateway': 'bench/hive-gateway.ts',
    },
    say,
  );
  const hivePrefix = env.BENCH_SKIP_HIVE ? undefined : ensureHiveGateway(HIVE_PREFIX, say);

  const secret = randomBytes(32);
  const subgraphOptions = { mongoUri, dbNameFor, secret, extraEnv: { SUBGRAPH_COUNT_COMMANDS: '1' } };
  const profileDir = join(RESULTS_DIR, 'profiles');
  // BENCH_PROFILE_SUBGRAPHS=1: a profile of each subgraph process (its whole run, every gateway's load), written
  // when it stops. Node's default file name (CPU.<date>.<time>.<pid>…) keeps the four apart: Node 20 does not expand
  // a `${pid}` in --cpu-prof-name. Read them past their start-up (profile-summary's skip-seconds).
  const subgraphProfile = env.BENCH_PROFILE_SUBGRAPHS
    ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, 'subgraphs')]
    : [];
  const subgraphs = launchSubgraphs({
    ...subgraphOptions,
    launcher,
    bundle: bundles.subgraph,
    portBase: SUBGRAPH_PORT_BASE,
    launch: { core: 1, nodeFlags: [...SHIPPED_FLAGS, ...subgraphProfile] },
  });
  const urls = subgraphs.urls;
  const subgraphPids = subgraphs.children.map((child) => child.pid!);
  // The data tier before issue 20: the per-parent connection loader, on FerretDB as released.
  const legacy = launchSubgraphs({
    ...subgraphOptions,
    mongoUri: legacyMongoUri,
    extraEnv: { ...subgraphOptions.extraEnv, SUBGRAPH_CONNECTION_LOADER: 'per-parent' },
    launcher: { ...launcher, launch: (name, args, env, opts) => launcher.launch(`${name}-legacy`, args, env, opts) },
    bundle: bundles.subgraph,
    portBase: LEGACY_SUBGRAPH_PORT_BASE,
    launch: { core: 1, nodeFlags: SHIPPED_FLAGS },
  });
  const legacyUrls = legacy.urls;
  const legacySubgraphPids = legacy.children.map((child) => child.pid!);
  const countUrls = [...Object.values(urls), ...Object.values(legacyUrls)].map((url) =>
    url.replace('/graphql', '/_bench/commands'),
  );
  await waitForSubgraphs(legacyUrls);
  await waitForSubgraphs(urls);

  const profileFlags = (name: string) =>
    env.BENCH_PROFILE
      ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`]
      : [];
  const onCore0 = (nodeFlags: string[]) => ({ core: 0, nodeFlags });
  const internal = { TOLLGATE_INTERNAL_SECRET: secret.toString('hex') };
  const asCaller = { BENCH_TENANT: 'acme', BENCH_PRINCIPAL: principal, BENCH_ROLES: 'customer' };
  // Bare runs as Apollo ships it, with plain node; Tollgate and the subgraphs as the image runs them.
  const bare = launcher.launch(
    'gateway-bare',
    [bundles['bare-gateway']!],
    { PORT: String(BARE_PORT), ...internal, ...asCaller, ...urls },
    onCore0(profileFlags('bare')),
  );
  const tollgateEnv = { REDIS_URL: redis.url, MONGODB_URI: mongoUri, CONTROL_DB, ...internal, LOG_LEVEL: 'info' };
  const tollgate = launcher.launch(
    'gateway-tollgate',
    [bundles.gateway!],
    { PORT: String(TOLLGATE_PORT), ...tollgateEnv, ...urls },
    onCore0([...SHIPPED_FLAGS, ...profileFlags('tollgate')]),
  );
  const tollgateLegacy = launcher.launch(
    'gateway-tollgate-legacy',
    [bundles.gateway!],
    // The platform as it was before issue 20: the per-parent loader, and every subgraph query sent (no
    // deduplication), so the T/tollgate-legacy ratios are that issue's before/after.
    { PORT: String(TOLLGATE_LEGACY_PORT), ...tollgateEnv, ...legacyUrls, SUBGRAPH_DEDUPLICATION: 'off' },
    onCore0(SHIPPED_FLAGS),
  );
  // Metrics on a free port each, tracing to the bench's receiver: the same Tollgate, observed.
  const observed = (name: string, port: number, ratio: string, apolloSpans = false) =>
    launcher.launch(
      `gateway-${name}`,
      [bundles.gateway!],
      {
        PORT: String(port),
        ...tollgateEnv,
        ...urls,
        METRICS_PORT: '0',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: tracesUrl!,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: ratio,
        TRACE_APOLLO_SPANS: String(apolloSpans),
      },
      onCore0([...SHIPPED_FLAGS, ...profileFlags(name)]),
    );
  const tollgateObserved = tracesUrl ? observed('tollgate-observed', TOLLGATE_OBSERVED_PORT, '1') : undefined;
  const tollgateObserved10 = tracesUrl ? observed('tollgate-observed-10', TOLLGATE_OBSERVED_10_PORT, '0.1') : undefined;
  const tollgateObserved10Apollo = tracesUrl
    ? observed('tollgate-observed-10-apollo', TOLLGATE_OBSERVED_10_APOLLO_PORT, '0.1', true)
    : undefined;
  const tollgateUnmetered = BENCH_UNMETERED
    ? launcher.launch(
        'gateway-tollgate-unmetered',
        [bundles.gateway!],
        // Issue 17's comparison: metering, the quota and the audit trail all off.
        {
          PORT: String(TOLLGATE_UNMETERED_PORT),
          ...tollgateEnv,
          ...urls,
          USAGE_METERING: 'off',
          AUDIT_ENABLED: 'false',
        },
        onCore0([...SHIPPED_FLAGS, ...profileFlags('tollgate-unmetered')]),
      )
    : undefined;
  // Deduplication of identical in-flight subgraph queries off (on in plain `tollgate`, the default).
  const tollgateNodedupe = BENCH_NODEDUPE
    ? launcher.launch(
        'gateway-tollgate-nodedupe',
        [bundles.gateway!],
        { PORT: String(TOLLGATE_NODEDUPE_PORT), ...tollgateEnv, ...urls, SUBGRAPH_DEDUPLICATION: 'off' },
        onCore0([...SHIPPED_FLAGS, ...profileFlags('tollgate-nodedupe')]),
      )
    : undefined;
  const hiveEnv = { ...internal, HIVE_PREFIX: hivePrefix ?? '', ...asCaller, ...urls };
  const hive = hivePrefix
    ? launcher.launch(
        'gateway-hive',
        [bundles['hive-gateway']!],
        { ...hiveEnv, PORT: String(HIVE_PORT), HIVE_FEATURES: '0' },
        onCore0(profileFlags('hive')),
      )
    : undefined;
  const hiveFeatures = hivePrefix
    ? launcher.launch(
        'gateway-hive-features',
        [bundles['hive-gateway']!],
        { ...hiveEnv, PORT: String(HIVE_FEATURES_PORT), HIVE_FEATURES: '1' },
        onCore0(profileFlags('hive-features')),
      )
    : undefined;
  const graphql = (port: number) => `http://127.0.0.1:${port}/graphql`;
  const typename = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"{__typename}"}',
  };
  await waitFor(`http://127.0.0.1:${TOLLGATE_PORT}/readyz`, undefined, 90_000);
  await waitFor(graphql(BARE_PORT), typename, 90_000);
  await waitFor(`http://127.0.0.1:${TOLLGATE_LEGACY_PORT}/readyz`, undefined, 90_000);
  for (const [gateway, port] of [
    [tollgateObserved, TOLLGATE_OBSERVED_PORT],
    [tollgateObserved10, TOLLGATE_OBSERVED_10_PORT],
    [tollgateObserved10Apollo, TOLLGATE_OBSERVED_10_APOLLO_PORT],
  ] as const) {
    if (gateway) await waitFor(`http://127.0.0.1:${port}/readyz`, undefined, 90_000);
  }
  if (tollgateUnmetered) await waitFor(`http://127.0.0.1:${TOLLGATE_UNMETERED_PORT}/readyz`, undefined, 90_000);
  if (tollgateNodedupe) await waitFor(`http://127.0.0.1:${TOLLGATE_NODEDUPE_PORT}/readyz`, undefined, 90_000);
  if (hive) await waitFor(graphql(HIVE_PORT), typename, 90_000);
  if (hiveFeatures) await waitFor(graphql(HIVE_FEATURES_PORT), typename, 90_000);

  const gateways: Platform['gateways'] = {
    bare: { url: graphql(BARE_PORT), pid: bare.pid! },
    tollgate: { url: graphql(TOLLGATE_PORT), pid: tollgate.pid! },
    'tollgate-legacy': { url: graphql(TOLLGATE_LEGACY_PORT), pid: tollgateLegacy.pid! },
    ...(tollgateObserved
      ? { 'tollgate-observed': { url: graphql(TOLLGATE_OBSERVED_PORT), pid: tollgateObserved.pid! } }
      : {}),
    ...(tollgateObserved10
      ? { 'tollgate-observed-10': { url: graphql(TOLLGATE_OBSERVED_10_PORT), pid: tollgateObserved10.pid! } }
      : {}),
    ...(tollgateObserved10Apollo
      ? {
          'tollgate-observed-10-apollo': {
            url: graphql(TOLLGATE_OBSERVED_10_APOLLO_PORT),
            pid: tollgateObserved10Apollo.pid!,
          },
        }
      : {}),
    ...(tollgateUnmetered
      ? { 'tollgate-unmetered': { url: graphql(TOLLGATE_UNMETERED_PORT), pid: tollgateUnmetered.pid! } }
      : {}),
    ...(tollgateNodedupe
      ? { 'tollgate-nodedupe': { url: graphql(TOLLGATE_NODEDUPE_PORT), pid: tollgateNodedupe.pid! } }
      : {}),
    ...(hive ? { hive: { url: graphql(HIVE_PORT), pid: hive.pid! } } : {}),
    ...(hiveFeatures ? { 'hive-features': { url: graphql(HIVE_FEATURES_PORT), pid: hiveFeatures.pid! } } : {}),
  };
  return { gateways, subgraphPids, legacySubgraphPids, countUrls };
}
