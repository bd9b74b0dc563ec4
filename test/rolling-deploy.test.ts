/**
 * A rolling deploy, proven (issue 15, acceptance 3): three gateway PROCESSES (production mode) in front of the four
 * real subgraph processes on FerretDB, one Redis, one control plane, behind a round-robin proxy that behaves like a
 * Kubernetes Service (test/support/round-robin-proxy.ts: readiness polled every 100 ms, a failing backend leaves
 * rotation at once; only a refused connection is retried, as a real load balancer does). Under a constant bounded
 * load of reads and mutations (each mutation writes a review with a unique marker), the gateways are restarted one
 * by one — SIGTERM, wait for the exit, start a new one, wait until it is in rotation — and a new supergraph is
 * published in the middle.
 *
 * Asserted: no request failed; every accepted mutation is committed exactly once and nothing else was written
 * (documents counted by marker); a tenant's budget spent on the old replicas is the one the new replicas charge; the
 * published supergraph is served by every replica within 5 s (their metrics say which), and loaded by those started
 * after it.
 * Requests, failures and the p99 latency are printed for the operator's note (README, "Operating Tollgate").
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEncryption } from '../subgraphs/kit/encryption';
import { createMasterKeyProvider } from '../subgraphs/kit/encryption/key-provider';
import { loadOrCreateDevMasterKey } from '../common/master-key';
import mongoose from 'mongoose';
import { runTollgate } from '../cli/commands';
import { userIdFor } from '../common/ids';
import { seedControlPlane } from '../demo/control-plane';
import { demoProductId, seedDemoTenants } from '../demo/subgraph-data';
import { DEFAULT_SUPERGRAPH_PATH } from '../gateway/src/config';
import { openControlPlane } from '../gateway/src/control-plane/open';
import { createTestIssuer, type TestIssuer } from '../gateway/src/testing/jwt';
import { writeTrustedIssuersFile } from '../gateway/src/testing/platform';
import { startReplica, stopReplica, type Replica } from '../gateway/src/testing/replicas';
import { SUBGRAPH_NAMES } from '../subgraphs/catalog';
import { startRoundRobinProxy, type RoundRobinProxy } from './support/round-robin-proxy';
import { startSubgraphProcess, stopSubgraphProcess, type SubgraphProcess } from './support/subgraph-process';

const REPLICAS = 3;
/** The load: one request every 50 ms (20 req/s), every fourth a mutation; never more than this many in flight. */
const INTERVAL_MS = 50;
const MAX_IN_FLIGHT = 40;
/** Readiness poll period of the proxy; the shutdown delay is many of them, so the proxy drops a replica in time. */
const POLL_MS = 100;
const SHUTDOWN_DELAY_MS = 2_000;
/** The tenant whose budget is spent across replicas and restarts: this many operations, practically no refill. */
const BUDGET_CAPACITY = 5;
const SPENT_BEFORE = 3;

const run = randomBytes(4).toString('hex');
const prefix = `rolling_${run}`;
const dbNameFor = (name: string) => `${prefix}_${name}`;
const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const redisUrl = process.env.TEST_REDIS_URL ?? '';
const controlEnv = { MONGODB_URI: mongoUri, CONTROL_DB: dbNameFor('control'), REDIS_URL: redisUrl };

interface Outcome {
  kind: 'read' | 'mutation';
  ok: boolean;
  status: number;
  ms: number;
  backend: string;
  marker?: string;
  problem?: string;
}

async function tollgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: controlEnv,
  });
  return { code, stdout, stderr };
}

/**
 * The hot-reload interface (README, "Schema updates"): `tollgate supergraph publish <file>` stores the supergraph as
 * a new version in the control plane and announces it; every replica switches within 5 s, and a replica started
 * later loads it. Returns the published id (the SHA-256 of the SDL).
 */
async function publishSupergraph(file: string): Promise<string> {
  const result = await tollgate(['supergraph', 'publish', file, '--json']);
  if (result.code !== 0) throw new Error(`supergraph publish failed (${result.code}): ${result.stderr}`);
  return (JSON.parse(result.stdout) as { id: string }).id;
}

/** The supergraph a replica serves, from its metrics listener (`tollgate_supergraph_info`). */
async function servedSupergraph(replica: Replica): Promise<string | undefined> {
  const text = await (await fetch(replica.metricsUrl!)).text();
  return /^tollgate_supergraph_info\{supergraph_id="([^"]+)"\} 1$/m.exec(text)?.[1];
}

/** How long after `since` the replica served `id` (polled every 100 ms); Infinity if not within 10 s. */
async function timeUntilServed(replica: Replica, id: string, since: number): Promise<number> {
  while (Date.now() - since < 10_000) {
    if ((await servedSupergraph(replica)) === id) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Infinity;
}

/** A new supergraph the validation accepts: Tollgate's own, with one description changed (so a new version id). */
function writeNewSupergraph(): string {
  const sdl = readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8');
  const changed = sdl.replace('"""Adds a review by the caller."""', `"""Adds a review by the caller (${run})."""`);
  if (changed === sdl) throw new Error('the supergraph no longer has the description this test changes');
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-rolling-')), 'supergraph.graphql');
  writeFileSync(file, changed);
  return file;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

describe('a rolling deploy of three gateway processes under load', () => {
  let issuer: TestIssuer;
  let proxy: RoundRobinProxy;
  let subgraphs: SubgraphProcess[] = [];
  const replicas = new Map<string, Replica>();
  let gatewayEnv: Record<string, string>;

  beforeAll(async () => {
    // The deployment's migration step, with its own (index-creating) rights, before any process starts.
    const migrated = await tollgate([
      'migrate',
      '--db',
      SUBGRAPH_NAMES.map((name) => `${name}=${dbNameFor(name)}`).join(','),
    ]);
    expect(migrated).toMatchObject({ code: 0, stderr: '' });
    await seedDemoTenants({ mongoUri, dbNameFor });
    await seedControlPlane({ mongoUri, dbName: dbNameFor('control') });
    const controlPlane = await openControlPlane({ mongoUri, dbName: dbNameFor('control') });
    try {
      await controlPlane.tenants.updateTenant('acme', { plan: 'enterprise' });
      const pro = await controlPlane.tenants.getPlan('pro');
      await controlPlane.tenants.createPlan({
        id: 'tight',
        name: 'Tight',
        limits: { ...pro!.limits, budget: { capacity: BUDGET_CAPACITY, restoreRate: 0.001 } },
      });
      await controlPlane.tenants.createTenant({ id: 'initech', name: 'Initech', plan: 'tight' });
    } finally {
      await controlPlane.close();
    }

    const secret = randomBytes(32);
    subgraphs = await Promise.all(
      SUBGRAPH_NAMES.map((name) =>
        // Not restarted by this test: stopping them at the end need not wait.
        startSubgraphProcess(name, { mongoUri, dbName: dbNameFor(name), secret, env: { SHUTDOWN_DELAY_MS: '0' } }),
      ),
    );
    issuer = await createTestIssuer();
    gatewayEnv = {
      ...controlEnv,
      ...Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [`${name.toUpperCase()}_URL`, subgraphs[i]!.url])),
      NODE_ENV: 'production',
      PORT: '0',
      // `gateway listening`, which startReplica waits for, is logged at info.
      LOG_LEVEL: 'info',
      TOLLGATE_INTERNAL_SECRET: secret.toString('hex'),
      TRUSTED_ISSUERS_FILE: writeTrustedIssuersFile(issuer),
      SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
      SHUTDOWN_GRACE_MS: '10000',
      // The shared budget is what is measured: a replica whose Redis call timed out on this busy machine must not
      // admit from a bucket of its own (fail-open), and a slow answer must not become a 503 either.
      BUDGET_FAIL_MODE: 'closed',
      BUDGET_REDIS_TIMEOUT_MS: '2000',
      // Two cores shared with compiling gateways: a subgraph answer may be slow, and slow is not failed here.
      SUBGRAPH_TIMEOUT_MS: '15000',
      // The metrics listener on a port of its own: which supergraph each replica serves (tollgate_supergraph_info).
      METRICS_PORT: '0',
    };
    // A probe may take 3 s (Kubernetes' timeoutSeconds: 3): a replica building a new supergraph's schema, on two cores
    // shared with three gateways, can take over a second to answer, and slow is not unready.
    proxy = await startRoundRobinProxy({ pollMs: POLL_MS, probeTimeoutMs: 3_000 });
    const started = await Promise.all(Array.from({ length: REPLICAS }, () => startReplica(gatewayEnv)));
    started.forEach((replica, i) => {
      const id = `gw${i}-v1`;
      replicas.set(id, replica);
      proxy.add(id, replica.origin);
    });
    await Promise.all([...replicas.keys()].map((id) => proxy.waitInRotation(id)));
  }, 240_000);

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([...replicas.values()].map(stopReplica));
    await Promise.all(subgraphs.map(stopSubgraphProcess));
    const connection = await mongoose.createConnection(mongoUri).asPromise();
    try {
      for (const name of [...SUBGRAPH_NAMES, 'control'])
        await connection.useDb(dbNameFor(name), { useCache: true }).dropDatabase();
    } finally {
      await connection.close();
    }
  }, 60_000);

  it('drops no request, commits every accepted mutation exactly once, and keeps budgets shared', async () => {
    const staff = await issuer.sign({
      tenant: 'acme',
      sub: userIdFor('acme', 'staff@acme.test'),
      roles: ['staff'],
    });
    const budgetCaller = await issuer.sign({ tenant: 'initech', sub: `budget-${run}` });
    const product = demoProductId('acme', 'MUG-001');
    const post = (token: string, query: string, variables?: Record<string, unknown>) =>
      fetch(`${proxy.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });

    // Budget, part 1: spent across the old replicas (round robin: one each).
    const spentOn = new Set<string>();
    for (let i = 0; i < SPENT_BEFORE; i++) {
      const res = await post(budgetCaller, '{ me { id } }');
      expect(res.status).toBe(200);
      spentOn.add(res.headers.get('x-backend')!);
    }
    expect(spentOn.size).toBe(SPENT_BEFORE);

    // The load.
    const outcomes: Outcome[] = [];
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    let skipped = 0;
    const one = async (n: number) => {
      const mutation = n % 4 === 3;
      const marker = mutation ? `${prefix}-m${n}` : undefined;
      const started = performance.now();
      const outcome: Outcome = { kind: mutation ? 'mutation' : 'read', ok: false, status: 0, ms: 0, backend: '' };
      try {
        const res = mutation
          ? await post(staff, 'mutation($input: AddReviewInput!) { addReview(input: $input) { id body } }', {
              input: { productId: product, rating: 4, body: marker },
            })
          : await post(staff, 'query($id: ID!) { product(id: $id) { id name quantity } }', { id: product });
        outcome.status = res.status;
        outcome.backend = res.headers.get('x-backend') ?? '';
        const text = await res.text();
        const body = JSON.parse(text) as {
          data?: Record<string, { id?: string; body?: string } | null>;
          errors?: unknown;
        };
        outcome.ok =
          res.status === 200 &&
          body.errors === undefined &&
          (mutation ? body.data?.addReview?.body === marker : body.data?.product?.id === product);
        if (!outcome.ok) outcome.problem = text.slice(0, 300);
      } catch (error) {
        outcome.problem = (error as Error).message;
      }
      outcome.ms = performance.now() - started;
      if (marker) outcome.marker = marker;
      outcomes.push(outcome);
    };
    const load = setInterval(() => {
      // Bounded: past this many in flight the tick is skipped (and counted), never queued.
      if (inFlight.size >= MAX_IN_FLIGHT) {
        skipped++;
        return;
      }
      const p = one(sent++).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }, INTERVAL_MS);
    const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    const exitCodes: (number | null)[] = [];
    let publishedId = '';
    const switchMs: number[] = [];
    const servedAtStart: (string | undefined)[] = [];
    try {
      await settle(2_000);
      for (let i = 0; i < REPLICAS; i++) {
        const oldId = `gw${i}-v1`;
        const newId = `gw${i}-v2`;
        // Kubernetes' order: SIGTERM, the pod's readiness fails, the Service drops it, the process drains and exits.
        const old = replicas.get(oldId)!;
        const exit = stopReplica(old);
        await proxy.waitOutOfRotation(oldId, SHUTDOWN_DELAY_MS);
        exitCodes.push(await exit);
        proxy.remove(oldId);
        replicas.delete(oldId);
        const fresh = await startReplica(gatewayEnv);
        replicas.set(newId, fresh);
        proxy.add(newId, fresh.origin);
        await proxy.waitInRotation(newId);
        if (publishedId) servedAtStart.push(await servedSupergraph(fresh));
        if (i === 0) {
          // The schema change in the middle of the deploy: one replica new, two old.
          const file = writeNewSupergraph();
          const since = Date.now();
          publishedId = await publishSupergraph(file);
          switchMs.push(
            ...(await Promise.all([...replicas.values()].map((r) => timeUntilServed(r, publishedId, since)))),
          );
          await settle(2_000);
        }
        await settle(1_000);
      }
      await settle(2_000);
    } finally {
      clearInterval(load);
      await Promise.all(inFlight);
    }

    const failures = outcomes.filter((o) => !o.ok);
    const latencies = outcomes.map((o) => o.ms);
    const summary = {
      requests: outcomes.length,
      reads: outcomes.filter((o) => o.kind === 'read').length,
      mutations: outcomes.filter((o) => o.kind === 'mutation').length,
      failures: failures.length,
      skippedTicks: skipped,
      p50Ms: Math.round(percentile(latencies, 50)),
      p99Ms: Math.round(percentile(latencies, 99)),
      maxMs: Math.round(Math.max(...latencies)),
      supergraphSwitchMs: switchMs,
      retriedRefusedConnections: proxy.stats.retriedRefused,
      proxyErrors: proxy.stats.proxyErrors,
      backends: [...new Set(outcomes.map((o) => o.backend))].sort(),
      rotation: proxy.stats.transitions,
    };
    console.log(`rolling deploy: ${JSON.stringify(summary)}`);

    // The schema change: every replica running then served it within 5 s, and the two started later loaded it.
    expect(switchMs).toHaveLength(REPLICAS);
    expect(Math.max(...switchMs)).toBeLessThan(5_000);
    expect(servedAtStart).toEqual([publishedId, publishedId]);
    expect(exitCodes).toEqual([0, 0, 0]);
    expect(proxy.stats.errors).toEqual([]);
    expect(failures).toEqual([]);
    // Every replica, old and new, served part of the load.
    expect(summary.backends).toEqual([0, 1, 2].flatMap((i) => [`gw${i}-v1`, `gw${i}-v2`]).sort());
    expect(summary.mutations).toBeGreaterThan(50);

    // Exactly once: every accepted mutation's marker is in one document, and no other document has this run's prefix.
    // Review bodies are sealed at rest (subgraphs/kit/encryption): opened here with the subgraphs' master key.
    const connection = await mongoose.createConnection(mongoUri).asPromise();
    try {
      const reviewsDb = connection.useDb(dbNameFor('reviews'), { useCache: true });
      await reviewsDb.asPromise();
      const { cipher } = openEncryption(reviewsDb, {
        keyProvider: createMasterKeyProvider(loadOrCreateDevMasterKey()),
      });
      const bodies = await reviewsDb
        .collection('reviews')
        .find({ tenantId: 'acme' }, { projection: { body: 1 } })
        .toArray();
      const opened = await Promise.all(bodies.map((doc) => cipher.open('acme', 'reviews.body', String(doc.body))));
      const written = opened.filter((body) => body.startsWith(`${prefix}-m`));
      const counts = new Map<string, number>();
      for (const body of written) counts.set(body, (counts.get(body) ?? 0) + 1);
      const accepted = outcomes.filter((o) => o.kind === 'mutation' && o.ok).map((o) => o.marker!);
      expect(accepted.filter((marker) => counts.get(marker) !== 1)).toEqual([]);
      expect(written).toHaveLength(accepted.length);
    } finally {
      await connection.close();
    }

    // Budget, part 2: every replica is new now, and the budget is the one spent before: of six operations sent
    // round robin, only what was left runs, and the refusals come from more than one replica.
    const after: { status: number; backend: string; code?: unknown }[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(budgetCaller, '{ me { id } }');
      const body = (await res.json()) as { errors?: { extensions?: { code?: unknown } }[] };
      after.push({
        status: res.status,
        backend: res.headers.get('x-backend')!,
        code: body.errors?.[0]?.extensions?.code,
      });
    }
    expect(after.every((a) => a.backend.endsWith('-v2'))).toBe(true);
    expect(after.map((a) => a.status)).toEqual([200, 200, 429, 429, 429, 429]);
    expect(after.slice(2).every((a) => a.code === 'RATE_LIMITED')).toBe(true);
    expect(new Set(after.slice(2).map((a) => a.backend)).size).toBeGreaterThan(1);
  }, 300_000);
});
