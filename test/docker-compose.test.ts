/**
 * docker-compose.yml cannot run on machines without Docker, so it is loaded with compose-go — the library
 * `docker compose` itself uses, which validates against the Compose Specification's JSON schema and resolves
 * interpolation, anchors and references — and then checked for the wiring a schema cannot see.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
  build?: { context: string };
  pull_policy?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  ports?: { host_ip?: string; target: number; published?: string }[];
  expose?: string[];
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
  read_only?: boolean;
}

function load(
  file: string | string[],
  env: Record<string, string>,
): { status: number | null; stdout: string; stderr: string } {
  const envFile = join(work, `env-${Object.keys(env).length}`);
  writeFileSync(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  const files = (Array.isArray(file) ? file : [file]).flatMap((f) => ['-f', f]);
  const result = spawnSync(checker, [...files, '-env-file', envFile], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function keysEnv(): Record<string, string> {
  const env: Record<string, string> = {
    TOLLGATE_INTERNAL_SECRET: SECRET.toString('hex'),
    ENCRYPTION_MASTER_KEY: 'ab'.repeat(32),
  };
  for (const name of SUBGRAPH_NAMES)
    env[`${name.toUpperCase()}_INTERNAL_KEY`] = deriveSubgraphKey(SECRET, name).toString('hex');
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
    expect(gateway.environment?.[`${name.toUpperCase()}_URL`]).toBe(
      `http://${name}:${DEFAULT_SUBGRAPH_PORTS[name]}/graphql`,
    );
    expect(gateway.depends_on?.[name]?.condition).toBe('service_healthy');
  }
  expect(gateway.environment?.TOLLGATE_INTERNAL_SECRET).toBe(SECRET.toString('hex'));
});

test('every service of the image runs a bundle npm run build writes, with source maps, and none runs tsx', () => {
  const bundles = DEFAULT_BUNDLES.map((bundle) => `dist/${bundle.out}.js`);
  expect(services.gateway?.command).toEqual(['node', '--enable-source-maps', 'dist/gateway.js']);
  expect(services.seed?.command).toEqual(['node', '--enable-source-maps', 'dist/seed.js']);
  for (const [name, service] of Object.entries(services)) {
    if (name === 'mongo' || name === 'redis' || name === 'lb') continue;
    expect(service.command?.slice(0, 2)).toEqual(['node', '--enable-source-maps']);
    expect(bundles).toContain(service.command?.[2]);
    expect(service.command).not.toContain('tsx');
  }
});

const TOLLGATE_SERVICES = ['seed', 'gateway', ...SUBGRAPH_NAMES];

test('one image, built once, runs every Tollgate service', () => {
  const images = new Set(TOLLGATE_SERVICES.map((name) => services[name]?.image));
  expect(images).toEqual(new Set(['tollgate:local']));
  const building = Object.entries(services)
    .filter(([, service]) => service.build !== undefined)
    .map(([name]) => name);
  expect(building).toEqual(['seed']);
  // The others wait for `seed` (so for its build) and never try to pull the local name.
  for (const name of TOLLGATE_SERVICES.filter((n) => n !== 'seed')) expect(services[name]?.pull_policy).toBe('never');
});

test('runs more than one gateway replica, with no host port, behind the nginx load balancer', () => {
  const gateway = services.gateway!;
  expect(gateway.deploy?.replicas).toBeGreaterThan(1);
  expect(gateway.ports ?? []).toEqual([]);
  expect(gateway.expose).toEqual(['4000']);
  const lb = services.lb!;
  expect(lb.image).toMatch(/^nginx:/);
  expect(lb.depends_on?.gateway?.condition).toBe('service_healthy');
  const config = lb.volumes?.find((v) => v.target === '/etc/nginx/nginx.conf');
  expect(config).toMatchObject({ type: 'bind', read_only: true, source: join(ROOT, 'deploy/compose/nginx.conf') });
  // The config proxies to every replica of `gateway`, resolved again as replicas come and go.
  const nginx = readFileSync(join(ROOT, 'deploy/compose/nginx.conf'), 'utf8');
  expect(nginx).toMatch(/set \$gateway gateway:4000;/);
  expect(nginx).toMatch(/proxy_pass http:\/\/\$gateway;/);
  expect(nginx).toMatch(/resolver 127\.0\.0\.11 valid=\d+s/);
});

test('binds every host port to 127.0.0.1 by default', () => {
  const published = Object.values(services).flatMap((service) => service.ports ?? []);
  expect(published.length).toBeGreaterThan(0);
  for (const port of published) expect(port.host_ip).toBe('127.0.0.1');
});

test('health checks ask HTTP health routes, not whether a port accepts a connection', () => {
  for (const name of [...SUBGRAPH_NAMES, 'gateway', 'lb']) {
    const test = services[name]!.healthcheck!.test.join(' ');
    expect(test).toMatch(/\/(healthz|readyz)/);
    expect(test).not.toMatch(/net'\)\.connect/);
  }
});

describe('with the production override', () => {
  const files = () => [join(ROOT, 'docker-compose.yml'), join(ROOT, 'docker-compose.prod.yml')];
  let prod: Record<string, Service>;

  beforeAll(() => {
    const result = load(files(), { ...keysEnv(), TRUSTED_ISSUERS_DIR: '/srv/tollgate/issuers' });
    if (result.status !== 0) throw new Error(`compose-go refused the production override: ${result.stderr}`);
    prod = (JSON.parse(result.stdout) as { services: Record<string, Service> }).services;
  });

  it('refuses to start without the trusted issuers directory', () => {
    const result = load(files(), keysEnv());
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('TRUSTED_ISSUERS_DIR');
  });

  it('mounts the trusted issuers read-only, runs in production mode, and mounts no development key', () => {
    const gateway = prod.gateway!;
    expect(gateway.environment).toMatchObject({
      NODE_ENV: 'production',
      TRUSTED_ISSUERS_FILE: '/etc/tollgate/issuers/issuers.json',
    });
    expect(gateway.volumes).toEqual([
      expect.objectContaining({ source: '/srv/tollgate/issuers', target: '/etc/tollgate/issuers', read_only: true }),
    ]);
    expect(gateway.volumes?.some((v) => v.target.includes('.data/secrets'))).toBe(false);
    expect(gateway.deploy?.replicas).toBeGreaterThan(1);
    for (const name of ['gateway', ...SUBGRAPH_NAMES]) {
      expect(prod[name]?.environment?.NODE_ENV).toBe('production');
      expect(prod[name]?.read_only).toBe(true);
    }
  });

  it('migrates without seeding demo tenants', () => {
    expect(prod.seed?.command).toEqual(['node', '--enable-source-maps', 'dist/tollgate.js', 'migrate']);
  });
});
