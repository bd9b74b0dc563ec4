/**
 * `npm start`: the whole platform on one machine with embedded defaults — FerretDB (unless MONGODB_URI is set),
 * Redis (the configured one, or a local redis-server), the migration (`tollgate migrate`: indexes, built-in plans),
 * demo tenants seeded on first start, the four subgraphs and the gateway, each its own process. Ctrl-C stops
 * everything in reverse order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deriveSubgraphKey } from '../common/internal-token';
import { loadOrCreateDevJwtKeys, loadOrCreateInternalSecret } from '../common/dev-secrets';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES } from '../subgraphs/catalog';
import { seedDemo } from '../demo/seed';
import { runTollgate } from '../cli/commands';
import { DEFAULT_MONGODB_URI, DEFAULT_REDIS_URL } from '../gateway/src/config-common';
import { readTracingSettings } from '../common/tracing/settings';
import { DATA_DIR, ROOT, isPortOpen, startFerretDB, type EmbeddedFerretDB } from './embedded/ferretdb';
import { ensureRedis, type RedisHandle } from './embedded/redis';

const env = process.env;
const GATEWAY_PORT = Number(env.PORT ?? 4000);
/**
 * Prometheus metrics, on loopback: the gateway's on METRICS_PORT (9464, OpenTelemetry's Prometheus exporter port, by
 * default), each subgraph's on the ports after it.
 */
const METRICS_PORT = Number(env.METRICS_PORT ?? 9464);
const REDIS_URL = env.REDIS_URL ?? DEFAULT_REDIS_URL;
/** Where `npm start` looks for (or starts) a MongoDB-compatible server when MONGODB_URI is not set. */
const DEFAULT_MONGO_PORT = Number(new URL(DEFAULT_MONGODB_URI).port);
const READY_TIMEOUT_MS = 180_000;

const say = (line: string) => process.stdout.write(`[tollgate] ${line}\n`);

/**
 * Where traces go, for the banner: every process reads the same OTEL_* variables (inherited), so the gateway's view
 * is everyone's. The endpoint is shown without any user or password it may carry.
 */
function tracesLine(): string {
  const problems: string[] = [];
  const tracing = readTracingSettings(env, 'tollgate-gateway', problems);
  if (problems.length > 0) throw new Error(`tracing settings: ${problems.join('; ')}`);
  if (!tracing)
    return 'off   (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 for a local collector or Jaeger, or TOLLGATE_TRACES=console)';
  const sampling = `${tracing.sampler}${tracing.sampler.endsWith('traceidratio') ? ` ${tracing.ratio}` : ''}`;
  if (tracing.exporter === 'console') return `printed below, one line per span   (sampler ${sampling})`;
  const endpoint = new URL(tracing.endpoint!);
  return `OTLP/HTTP → ${endpoint.origin}${endpoint.pathname}   (sampler ${sampling}; README "Observability")`;
}

interface Service {
  name: string;
  child: ChildProcess;
}

const services: Service[] = [];
let ferret: EmbeddedFerretDB | undefined;
let redis: RedisHandle | undefined;
let stopping = false;

/**
 * The services' stderr is a pipe to this process, so their own `auto` would choose JSON: in a terminal they are
 * told to write pino-pretty's readable lines, in colour (README, Observability → Logs). LOG_FORMAT still wins.
 */
const LOG_ENV: Record<string, string> = process.stdout.isTTY
  ? { LOG_FORMAT: env.LOG_FORMAT ?? 'pretty', FORCE_COLOR: env.FORCE_COLOR ?? '1' }
  : {};

function launch(name: string, script: string, args: string[], extraEnv: Record<string, string>): Service {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...env, ...LOG_ENV, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? `code ${code}`}); stopping the platform`);
      void shutdown(1);
    }
  });
  const service = { name, child };
  services.push(service);
  return service;
}

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = await res.text();
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the gateway was not ready within ${READY_TIMEOUT_MS / 1000} s: ${last}`);
}

async function shutdown(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  say('stopping…');
  for (const service of [...services].reverse()) {
    if (service.child.exitCode !== null) continue;
    const exited = new Promise((r) => service.child.once('exit', r));
    service.child.kill('SIGTERM');
    const timer = setTimeout(() => service.child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }
  await ferret?.stop();
  await redis?.stop();
  say('stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  // Checked before anything starts: a typo in a tracing variable would otherwise stop every process at once.
  const traces = tracesLine();
  const internalSecret = env.TOLLGATE_INTERNAL_SECRET
    ? Buffer.from(env.TOLLGATE_INTERNAL_SECRET, 'hex')
    : loadOrCreateInternalSecret();
  await loadOrCreateDevJwtKeys();

  let mongoUri = env.MONGODB_URI;
  if (!mongoUri) {
    if (await isPortOpen('127.0.0.1', DEFAULT_MONGO_PORT)) {
      mongoUri = DEFAULT_MONGODB_URI;
      say(`a MongoDB-compatible server already listens on 127.0.0.1:${DEFAULT_MONGO_PORT}; using it`);
    } else {
      say('starting the embedded MongoDB-compatible server (FerretDB, SQLite backend, data in .data/ferretdb)…');
      ferret = await startFerretDB({ port: DEFAULT_MONGO_PORT, dataDir: join(DATA_DIR, 'ferretdb'), log: say });
      mongoUri = ferret.uri;
    }
  }
  redis = await ensureRedis(REDIS_URL, say);

  // The deployment step the processes only check for (common/indexes.ts); idempotent, so every start runs it.
  const migrated = await runTollgate(['migrate'], {
    stdout: (text) => say(text.trimEnd()),
    stderr: (text) => say(text.trimEnd()),
    env: { ...env, MONGODB_URI: mongoUri },
  });
  if (migrated !== 0) throw new Error('`tollgate migrate` failed');

  const { data, controlPlane } = await seedDemo({ mongoUri, controlDb: env.CONTROL_DB });
  say(data.seeded ? 'seeded the demo tenants acme and globex' : 'demo tenants already present');
  say(
    controlPlane.seeded
      ? 'registered acme (pro) and globex (free) in the control plane'
      : 'control plane already has the demo tenants',
  );

  const subgraphUrls: Record<string, string> = {};
  const metricsUrls: string[] = [];
  for (const [index, name] of SUBGRAPH_NAMES.entries()) {
    const port = DEFAULT_SUBGRAPH_PORTS[name];
    subgraphUrls[`${name.toUpperCase()}_URL`] = `http://127.0.0.1:${port}/graphql`;
    const metricsPort = METRICS_PORT + 1 + index;
    metricsUrls.push(`${name} http://127.0.0.1:${metricsPort}/metrics`);
    launch(name, 'subgraphs/run.ts', [name], {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      MONGODB_URI: mongoUri,
      TOLLGATE_INTERNAL_KEY: deriveSubgraphKey(internalSecret, name).toString('hex'),
    });
  }
  launch('gateway', 'gateway/src/main.ts', [], {
    PORT: String(GATEWAY_PORT),
    METRICS_PORT: String(METRICS_PORT),
    REDIS_URL,
    MONGODB_URI: mongoUri,
    TOLLGATE_INTERNAL_SECRET: internalSecret.toString('hex'),
    ...subgraphUrls,
  });

  say('waiting for the gateway to report ready…');
  const base = `http://127.0.0.1:${GATEWAY_PORT}`;
  // Readiness no longer waits for the subgraphs (gateway/src/health.ts): wait for them too, so the demo query below
  // works the moment "ready." is printed.
  await Promise.all(
    SUBGRAPH_NAMES.map((name) => waitForReady(`http://127.0.0.1:${DEFAULT_SUBGRAPH_PORTS[name]}/readyz`)),
  );
  await waitForReady(`${base}/readyz`);
  say(`ready.

  GraphQL endpoint   POST ${base}/graphql
  Health             ${base}/healthz   ${base}/readyz
  Metrics            http://127.0.0.1:${METRICS_PORT}/metrics   (Prometheus text; README "Observability")
                     subgraphs: ${metricsUrls.join(', ')}
  Traces             ${traces}

  Get a development token and query as acme's admin:
    TOKEN=$(npm run --silent token -- --tenant acme --user admin@acme.test --roles admin)
    curl -s ${base}/graphql -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
      -d '{"query":"{ me { name } products(first: 3) { edges { node { name inStock } } } }"}'

  Demo users: admin@, staff@, customer@ acme.test and globex.test. Ctrl-C stops everything.`);
}

main().catch((error: unknown) => {
  say(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  void shutdown(1);
});
