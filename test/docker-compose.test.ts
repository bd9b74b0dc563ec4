/**
 * docker-compose.yml cannot run on machines without Docker, so it is loaded with compose-go — the library
 * `docker compose` itself uses, which validates against the Compose Specification's JSON schema and resolves
 * interpolation, anchors and references — and then checked for the wiring a schema cannot see.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveSubgraphKey } from '../common/internal-token';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES } from '../subgraphs/catalog';
import { buildGoTool } from '../scripts/embedded/go-tool';
import { DEFAULT_BUNDLES } from '../scripts/build';

const ROOT = join(__dirname, '..');
const SECRET = Buffer.alloc(32, 7);
const work = mkdtempSync(join(tmpdir(), 'compose-check-'));
let checker: string;

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

function load(file: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const envFile = join(work, `env-${Object.keys(env).length}`);
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const result = spawnSync(checker, ['-f', file, '-env-file', envFile], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function keysEnv(): Record<string, string> {
  const env: Record<string, string> = { TOLLGATE_INTERNAL_SECRET: SECRET.toString('hex') };
  for (const name of SUBGRAPH_NAMES) env[`${name.toUpperCase()}_INTERNAL_KEY`] = deriveSubgraphKey(SECRET, name).toString('hex');
  return env;
}

let services: Record<string, Service>;

beforeAll(() => {
  checker = buildGoTool('compose-check');
  const result = load(join(ROOT, 'docker-compose.yml'), keysEnv());
  if (result.status !== 0) throw new Error(`compose-go refused docker-compose.yml: ${result.stderr}`);
  services = (JSON.parse(result.stdout) as { services: Record<string, Service> }).services;
}, 180_000);

test('the checker itself refuses an invalid Compose file', () => {
  const broken = join(work, 'broken.yml');
  writeFileSync(broken, 'services:\n  web:\n    image: nginx\n    depends_on: [missing]\n    healtcheck: {}\n');
  expect(load(broken, {}).status).not.toBe(0);
});

test('refuses to start without the internal keys', () => {
  const result = load(join(ROOT, 'docker-compose.yml'), {});
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('internal-keys');
});

test('runs real MongoDB 7 as a replica set and Redis 7', () => {
  expect(services.mongo?.image).toBe('mongo:7');
  expect(services.mongo?.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
  expect(services.redis?.image).toBe('redis:7');
});

test('every long-running service has a health check and waits for what it needs', () => {
  for (const [name, service] of Object.entries(services)) {
    if (name !== 'seed') expect(service.healthcheck?.test.length).toBeGreaterThan(0);
  }
  expect(services.gateway?.depends_on?.redis?.condition).toBe('service_healthy');
  expect(services.seed?.depends_on?.mongo?.condition).toBe('service_healthy');
});

test('each subgraph runs on its catalog port with only its own key, and the gateway points at them', () => {
  const gateway = services.gateway!;
  for (const name of SUBGRAPH_NAMES) {
    const service = services[name]!;
    expect(service.command).toEqual(['node', '--enable-source-maps', 'dist/subgraph.js', name]);
    expect(service.environment?.PORT).toBe(String(DEFAULT_SUBGRAPH_PORTS[name]));
    expect(service.environment?.TOLLGATE_INTERNAL_KEY).toBe(deriveSubgraphKey(SECRET, name).toString('hex'));
    expect(service.environment).not.toHaveProperty('TOLLGATE_INTERNAL_SECRET');
    expect(service.depends_on?.seed?.condition).toBe('service_completed_successfully');
    expect(gateway.environment?.[`${name.toUpperCase()}_URL`]).toBe(`http://${name}:${DEFAULT_SUBGRAPH_PORTS[name]}/graphql`);
    expect(gateway.depends_on?.[name]?.condition).toBe('service_healthy');
  }
  expect(gateway.environment?.TOLLGATE_INTERNAL_SECRET).toBe(SECRET.toString('hex'));
});

test('every service of the image runs a bundle npm run build writes, with source maps, and none runs tsx', () => {
  const bundles = DEFAULT_BUNDLES.map((bundle) => `dist/${bundle.out}.js`);
  expect(services.gateway?.command).toEqual(['node', '--enable-source-maps', 'dist/gateway.js']);
  expect(services.seed?.command).toEqual(['node', '--enable-source-maps', 'dist/seed.js']);
  for (const [name, service] of Object.entries(services)) {
    if (name === 'mongo' || name === 'redis') continue;
    expect(service.command?.slice(0, 2)).toEqual(['node', '--enable-source-maps']);
    expect(bundles).toContain(service.command?.[2]);
    expect(service.command).not.toContain('tsx');
  }
});
