/**
 * Supergraph hot reload with real parts: two gateway replicas (in-process, each its own listener, sources and
 * caches) sharing one control plane (FerretDB) and Redis, real subgraphs over HTTP, the real `tollgate` CLI — under a
 * constant light load whose every answer must succeed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { allow, deny, rule } from 'graphql-shield';
import { runTollgate } from '../../../cli/commands';
import { createLogger } from '../../../common/logger';
import { DEFAULT_SUPERGRAPH_RELOAD, type GatewayConfig } from '../config';
import type { ControlPlane } from '../control-plane/open';
import { startGateway, type StartedGateway } from '../server';
import type { ChangePublisher } from '../tenants/changes';
import { PRODUCTS, accounts, fixtureAuthorization, inventory } from '../testing/fixtures';
import { createTestIssuer, type TestIssuer } from '../testing/jwt';
import { testManifest } from '../testing/manifests';
import { openTestControlPlane, writeTrustedIssuersFile } from '../testing/platform';
import { startTestSubgraph, type TestSubgraph } from '../testing/subgraph';
import { supergraphId } from './registry';
import { scrapeSupergraphMetrics, startLoad, within } from '../testing/hot-reload';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES, readSubgraphSdl } from '../../../subgraphs/catalog';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])';
/** What the products subgraph serves: every field any version of the supergraph below names. */
const PRODUCTS_SERVED = `${FEDERATION}
  type Query { products: [Product!]! hold: Boolean }
  type Product @key(fields: "id") { id: ID! name: String! related: [Product!]! sku: String weight: Float }`;
/** The products subgraph as a supergraph version describes it; `fields` are added to Product. */
const productsAs = (fields: string, extra = '') => `${FEDERATION}
  type Query { products: [Product!]! hold: Boolean }
  type Product @key(fields: "id") { id: ID! name: String! related: [Product!]! ${fields} }
  ${extra}`;

/** Query.hold's rule waits for the test: an operation using it is held between validation and execution. */
let releaseHeld: () => void = () => undefined;
let held: Promise<void> = Promise.resolve();
let reachedHold: () => void = () => undefined;
const holdRule = rule('test:hold', { cache: 'no_cache' })(async () => {
  reachedHold();
  await held;
  return true;
});
const authorization = {
  rules: { ...fixtureAuthorization.rules, Query: { '*': allow, forbidden: deny, hold: holdRule } },
  introspectionRule: fixtureAuthorization.introspectionRule,
};

interface Replica {
  gateway: StartedGateway;
  logs: Record<string, unknown>[];
}

interface GraphQLAnswer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

describe('supergraph hot reload', () => {
  const secret = randomBytes(32);
  let issuer: TestIssuer;
  let token: string;
  let controlPlane: ControlPlane;
  let changes: ChangePublisher;
  let subgraphs: TestSubgraph[];
  let dir: string;
  let path: string;
  let config: GatewayConfig;
  const replicas: Replica[] = [];
  let env: Record<string, string>;

  const compose = (productsTypeDefs: string, more: { name: string; typeDefs: string }[] = []) => {
    const [a, p, i] = subgraphs;
    const result = composeServices([
      { name: 'accounts', url: a!.url, typeDefs: accounts.typeDefs },
      { name: 'products', url: p!.url, typeDefs: parse(productsTypeDefs) },
      { name: 'inventory', url: i!.url, typeDefs: inventory.typeDefs },
      ...more.map(({ name, typeDefs }) => ({ name, url: 'http://127.0.0.1:9/graphql', typeDefs: parse(typeDefs) })),
    ]);
    if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
    return result.supergraphSdl;
  };
  let v1: string;
  let v2: string;
  let v3: string;

  /** Replaces the watched file the way deployments do: a new file renamed over it. */
  const replaceFile = (sdl: string) => {
    const next = join(dir, `.next-${randomBytes(4).toString('hex')}`);
    writeFileSync(next, sdl);
    renameSync(next, path);
  };
  const writeVersion = (name: string, sdl: string) => {
    const file = join(dir, `${name}.graphql`);
    writeFileSync(file, sdl);
    return file;
  };

  const startReplica = async (): Promise<Replica> => {
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'debug',
      sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    });
    const gateway = await startGateway(config, { logger, authorization });
    const replica = { gateway, logs };
    replicas.push(replica);
    return replica;
  };

  const graphql = async (replica: Replica, query: string): Promise<GraphQLAnswer> => {
    const res = await fetch(`${replica.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, body: (await res.json()) as GraphQLAnswer['body'] };
  };

  /** Whether the replica serves `field` of Product (a new request validates and gets data). */
  const serves = async (replica: Replica, field: string) => {
    const answer = await graphql(replica, `{ products { id ${field} } }`);
    if (answer.status === 200 && !answer.body.errors) return true;
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    return false;
  };

  /** The fixture read every replica answers under load; anything else is a failure. */
  const loadOn = (on: Replica[] = replicas) =>
    startLoad(
      on.map((replica) => async () => {
        const answer = await graphql(replica, '{ products { id name inStock } }');
        const names = (answer.body.data?.products as { name: string }[] | undefined)?.map((p) => p.name);
        return answer.status === 200 && !answer.body.errors && names?.join() === PRODUCTS.map((p) => p.name).join()
          ? undefined
          : `${answer.status} ${JSON.stringify(answer.body)}`;
      }),
    );
  const scrape = (replica: Replica) => scrapeSupergraphMetrics(replica.gateway.metricsUrl!);

  const tollgate = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runTollgate(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
    return { code, stdout, stderr };
  };

  beforeAll(async () => {
    issuer = await createTestIssuer();
    token = await issuer.sign();
    ({ controlPlane, changes } = await openTestControlPlane());
    await controlPlane.tenants.createTenant({ id: 'acme', name: 'Acme', plan: 'pro' });
    subgraphs = await Promise.all([
      startTestSubgraph({ ...accounts, gatewaySecret: secret }),
      startTestSubgraph({
        name: 'products',
        typeDefs: parse(PRODUCTS_SERVED),
        resolvers: {
          Query: { products: () => PRODUCTS, hold: () => true },
          Product: {
            related: () => [],
            sku: (p: { id: string }) => `SKU-${p.id}`,
            weight: () => 1.5,
            __resolveReference: (ref: { id: string }) => PRODUCTS.find((p) => p.id === ref.id),
          },
        },
        gatewaySecret: secret,
      }),
      startTestSubgraph({ ...inventory, gatewaySecret: secret }),
    ]);
    v1 = compose(productsAs(''));
    v2 = compose(productsAs('sku: String'));
    v3 = compose(productsAs('sku: String weight: Float'));
    dir = mkdtempSync(join(tmpdir(), 'tollgate-hot-reload-'));
    path = join(dir, 'supergraph.graphql');
    writeFileSync(path, v1);
    const redisUrl = process.env.TEST_REDIS_URL ?? '';
    env = { MONGODB_URI: process.env.TEST_MONGODB_URI ?? '', CONTROL_DB: controlPlane.dbName, REDIS_URL: redisUrl };
    config = {
      production: false,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'debug',
      supergraphPath: path,
      supergraphReload: { ...DEFAULT_SUPERGRAPH_RELOAD, filePollMs: 1_000, controlPlanePollMs: 2_000 },
      subgraphUrls: {
        accounts: subgraphs[0]!.url,
        products: subgraphs[1]!.url,
        inventory: subgraphs[2]!.url,
        reviews: 'http://127.0.0.1:9/graphql',
      },
      subgraphTimeoutMs: 2_000,
      maxBodyBytes: 16 * 1024,
      internalSecret: { source: 'env', secret },
      jwt: { trustedIssuersFile: writeTrustedIssuersFile(issuer), trustDevIssuer: false },
      controlPlane: { mongoUri: env.MONGODB_URI!, dbName: controlPlane.dbName },
      redisUrl,
      budgetFailMode: 'open',
      metrics: { host: '127.0.0.1', port: 0, maxTenants: 10 },
    };
    await startReplica();
    await startReplica();
  });

  afterAll(async () => {
    releaseHeld();
    await Promise.all(replicas.map((r) => r.gateway.stop()));
    await Promise.all((subgraphs ?? []).map((s) => s.stop()));
    await controlPlane?.dropDatabase();
    await controlPlane?.close();
    await changes?.close();
  });

  it('refuses a supergraph leaving a field without a rule, an unparsable one and one naming an unknown subgraph: logged, counted, the old one serving', async () => {
    const load = loadOn();
    const refused: [string, string][] = [
      ['uncovered-fields', compose(productsAs('coupon: Coupon', 'type Coupon { code: String! }'))],
      ['unparsable', 'type Query {\n'],
      [
        'missing-subgraph',
        compose(productsAs(''), [{ name: 'shipping', typeDefs: `${FEDERATION} type Query { shipments: [String!]! }` }]),
      ],
    ];
    for (const [reason, sdl] of refused) {
      replaceFile(sdl);
      for (const replica of replicas) {
        await within(5_000, `${reason} refused`, () =>
          replica.logs.some((l) => l.level === 'error' && l.reason === reason && l.supergraphId === supergraphId(sdl)),
        );
        const line = replica.logs.find((l) => l.reason === reason)!;
        expect(line).toMatchObject({
          msg: expect.stringContaining('refused'),
          source: 'file',
          servingId: supergraphId(v1),
        });
        expect(await serves(replica, 'name')).toBe(true);
        expect(await serves(replica, 'sku')).toBe(false);
      }
    }
    for (const replica of replicas) {
      const metrics = await scrape(replica);
      expect(metrics.reloads('refused')).toBe(3);
      expect(metrics.reloads('applied')).toBe(0);
      expect(metrics.servedId).toBe(supergraphId(v1));
    }
    const { requests, failures } = await load.stop();
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(0);
  });

  it('serves a supergraph with a field added (the file replaced) on both replicas within 5 s, no request failing', async () => {
    const load = loadOn();
    await within(5_000, 'load running', () => load.requests() >= 10);
    replaceFile(v2);
    await within(5_000, 'both replicas serve Product.sku', async () =>
      (await Promise.all(replicas.map((r) => serves(r, 'sku')))).every(Boolean),
    );
    const sku = await graphql(replicas[0]!, '{ products { id sku } }');
    expect(sku.body.data).toEqual({ products: PRODUCTS.map((p) => ({ id: p.id, sku: `SKU-${p.id}` })) });
    const before = load.requests();
    await within(5_000, 'load after the swap', () => load.requests() >= before + 10);
    const { failures } = await load.stop();
    expect(failures).toEqual([]);
    for (const replica of replicas) {
      const metrics = await scrape(replica);
      expect(metrics.reloads('applied')).toBe(1);
      expect(metrics.servedId).toBe(supergraphId(v2));
    }
  });

  it('lets a request under way finish on the supergraph it was validated against, across a swap removing its field', async () => {
    held = new Promise((resolve) => (releaseHeld = resolve));
    const reached = new Promise<void>((resolve) => (reachedHold = resolve));
    const replica = replicas[0]!;
    const inFlight = graphql(replica, '{ hold products { id sku } }');
    // Held in the authorization stage: validated against v2, not yet planned.
    await reached;
    replaceFile(v1);
    await within(5_000, 'v1 served again', async () => !(await serves(replica, 'sku')));
    releaseHeld();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data).toEqual({ hold: true, products: PRODUCTS.map((p) => ({ id: p.id, sku: `SKU-${p.id}` })) });
  });

  it('tollgate supergraph publish: both replicas switch within 5 s with no failed request, a replica started later loads it, the file no longer decides', async () => {
    const load = loadOn();
    await within(5_000, 'load running', () => load.requests() >= 10);
    const published = await tollgate(['supergraph', 'publish', writeVersion('v3', v3), '--skip-policy']);
    expect(published).toMatchObject({ code: 0, stderr: '' });
    expect(published.stdout).toContain(supergraphId(v3));
    await within(5_000, 'both replicas serve Product.weight', async () =>
      (await Promise.all(replicas.map((r) => serves(r, 'weight')))).every(Boolean),
    );
    const before = load.requests();
    await within(5_000, 'load after the swap', () => load.requests() >= before + 10);
    const { failures } = await load.stop();
    expect(failures).toEqual([]);
    for (const replica of replicas) expect((await scrape(replica)).servedId).toBe(supergraphId(v3));

    // The file still says v1; a replica starting now loads the published version.
    const later = await startReplica();
    expect(await serves(later, 'weight')).toBe(true);
    expect((await scrape(later)).servedId).toBe(supergraphId(v3));

    // A changed file is ignored while a published supergraph outranks it.
    replaceFile(v2);
    await within(5_000, 'file change seen', () =>
      replicas.every((r) => r.logs.some((l) => String(l.msg).includes('lower-ranked') && l.source === 'file')),
    );
    for (const replica of replicas) expect(await serves(replica, 'weight')).toBe(true);

    const current = await tollgate(['supergraph', 'current', '--json']);
    expect(JSON.parse(current.stdout)).toMatchObject({ id: supergraphId(v3), publications: 1 });
    const listed = await tollgate(['supergraph', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: supergraphId(v3), status: 'served' })]);
  });

  it('tollgate supergraph check names a published persisted operation that a removed field would break', async () => {
    const v3File = writeVersion('v3-check', v3);
    await controlPlane.manifests.publish(
      'acme',
      'erp',
      testManifest(v3File, 'query Weights { products { id weight } }', 'query Names { products { id name } }'),
    );
    const withoutWeight = writeVersion('without-weight', v2);
    const check = await tollgate(['supergraph', 'check', withoutWeight, '--skip-policy']);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/tenant acme, client erp v1: Weights .*weight/);
    expect(check.stdout).not.toContain('Names');
    expect(check.stderr).toContain('1 persisted operations');
    const json = JSON.parse((await tollgate(['supergraph', 'check', withoutWeight, '--skip-policy', '--json'])).stdout);
    expect(json.broken).toEqual([
      expect.objectContaining({ tenantId: 'acme', client: 'erp', version: 1, operationName: 'Weights' }),
    ]);

    // The served supergraph breaks nothing.
    const same = await tollgate(['supergraph', 'check', v3File, '--skip-policy']);
    expect(same).toMatchObject({ code: 0 });
    expect(same.stdout).toContain('2 published persisted operations checked.');
  });

  it("supergraph publish and check with Tollgate's own policy: a field without a rule is named, nothing is published", async () => {
    // Tollgate's own graph with one field its rule tree does not know.
    const result = composeServices(
      SUBGRAPH_NAMES.map((name) => ({
        name,
        url: `http://127.0.0.1:${DEFAULT_SUBGRAPH_PORTS[name]}/graphql`,
        typeDefs: parse(
          readSubgraphSdl(name) + (name === 'products' ? '\nextend type Product { barcode: String }\n' : ''),
        ),
      })),
    );
    if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
    const file = writeVersion('tollgate-barcode', result.supergraphSdl);
    const check = await tollgate(['supergraph', 'check', file]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      'The supergraph is refused (uncovered-fields): no authorization rule covers Product.barcode',
    );
    expect(check.stdout).toContain('Fields without an authorization rule: Product.barcode');
    // Standard input is read where the CLI has one.
    expect((await tollgate(['supergraph', 'publish', '-'])).code).toBe(2);
    let stdout = '';
    let stderr = '';
    const code = await runTollgate(['supergraph', 'publish', '-'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env,
      stdin: async () => result.supergraphSdl,
    });
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toContain('refused (uncovered-fields)');
    expect(stderr).toContain('nothing was published');
    const listed = await tollgate(['supergraph', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: supergraphId(v3) })]);
  });

  it('logged no error but the refusals', () => {
    const [first, second, later] = replicas;
    for (const replica of [first!, second!]) {
      const errors = replica.logs.filter((l) => l.level === 'error');
      expect(errors.map((l) => l.reason)).toEqual(['uncovered-fields', 'unparsable', 'missing-subgraph']);
    }
    expect(later!.logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a published supergraph the gateways refuse: every replica keeps serving, one starting now starts on the last good publication', async () => {
    const bad = compose(productsAs('sku: String weight: Float coupon: Coupon', 'type Coupon { code: String! }'));
    const published = await tollgate(['supergraph', 'publish', writeVersion('bad', bad), '--skip-policy']);
    expect(published.code).toBe(0);
    for (const replica of replicas) {
      await within(5_000, 'the publication refused', () =>
        replica.logs.some(
          (l) =>
            l.level === 'error' &&
            l.reason === 'uncovered-fields' &&
            l.source === 'control-plane' &&
            l.supergraphId === supergraphId(bad),
        ),
      );
      expect(await serves(replica, 'weight')).toBe(true);
    }
    const fresh = await startReplica();
    expect(await serves(fresh, 'weight')).toBe(true);
    const metrics = await scrape(fresh);
    expect(metrics.servedId).toBe(supergraphId(v3));
    expect(metrics.reloads('refused')).toBe(1);
    expect(fresh.logs).toContainEqual(
      expect.objectContaining({ level: 'error', msg: 'supergraph refused at start', reason: 'uncovered-fields' }),
    );
    expect(fresh.logs).toContainEqual(
      expect.objectContaining({ msg: 'supergraph loaded', source: 'control-plane (earlier publication)' }),
    );
  });
});
