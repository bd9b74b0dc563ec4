/**
 * A gateway over the fixture subgraphs, on ephemeral ports, with a test issuer, a short subgraph timeout and a
 * control plane of its own (a randomly named database on TEST_MONGODB_URI, dropped by `stop`) holding the tenants
 * acme and globex: what the gateway's integration tests run against.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../config';
import { startGateway, type StartGatewayOptions, type StartedGateway } from '../server';
import { createChangePublisher, type ChangePublisher } from '../tenants/changes';
import { openControlPlane, type ControlPlane } from '../control-plane/open';
import type { IssuedApiKey, NewApiKey } from '../credentials/api-keys';
import { accounts, fixtureAuthorization, inventory, products, type SubgraphFixture } from './fixtures';
import { TEST_AUDIENCE, TEST_ISSUER, createTestIssuer, type TestIssuer } from './jwt';
import { startTestSubgraph, type TestSubgraph } from './subgraph';
import { writeTestSupergraph } from './supergraph';
import { createLogger, type Logger } from '../../../common/logger';

export interface TestPlatform {
  gateway: StartedGateway;
  issuer: TestIssuer;
  subgraphs: Record<'accounts' | 'products' | 'inventory', TestSubgraph>;
  config: GatewayConfig;
  /** The gateway's control plane; writes are announced to the gateway as the CLI's are. */
  controlPlane: ControlPlane;
  /** Every log line the gateway wrote, parsed. */
  logs: Record<string, unknown>[];
  /**
   * POSTs a JSON body to /graphql with a valid token unless `token` is given (`null`: no authorization), or with
   * `apiKey` as X-Api-Key instead of a token.
   */
  graphql(body: unknown, options?: GraphQLRequestOptions): Promise<GraphQLHttpResult>;
  /**
   * Issues an API key through the control plane and resolves once the gateway accepts it. The key's announcement
   * reaches the gateway's key-id index over Redis pub/sub, a moment after `issue` resolved; until then the key is
   * an unknown key (401). A test that uses a key right after issuing it says so with this.
   */
  issueApiKey(request: NewApiKey): Promise<IssuedApiKey>;
  stop(): Promise<void>;
}

export interface GraphQLRequestOptions {
  token?: string | null;
  apiKey?: string;
  headers?: Record<string, string>;
  /** Appended to /graphql as is, e.g. `?api_key=…`. */
  query?: string;
}

/** Where acme's browser frontend is served from, in the test control plane. */
export const ACME_ORIGIN = 'https://shop.acme.test';

export interface GraphQLHttpResult {
  status: number;
  headers: Headers;
  /** The parsed JSON body. */
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, unknown>;
  };
  text: string;
}

export const TEST_SUBGRAPH_TIMEOUT_MS = 400;

/**
 * The budget's and APQ's Redis deadline on the test platform. The production default (100 ms) is met easily by a
 * local Redis at rest, but not always by one shared with a full in-band run on two loaded cores: a reservation or an
 * APQ registration that misses it falls back (budget) or is not stored (APQ), and a test asserting the normal path
 * fails for the machine's load. The fault tests stop Redis, which fails at once whatever the deadline.
 */
export const TEST_REDIS_TIMEOUT_MS = 1_000;

/** Opens a fresh control plane (random database) announcing its changes on the test Redis. */
export async function openTestControlPlane(): Promise<{ controlPlane: ControlPlane; changes: ChangePublisher }> {
  const mongoUri = process.env.TEST_MONGODB_URI;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!mongoUri || !redisUrl) throw new Error('TEST_MONGODB_URI and TEST_REDIS_URL are set by test/global-setup.ts');
  const dbName = `tollgate_control_test_${randomBytes(6).toString('hex')}`;
  const changes = createChangePublisher({
    redisUrl,
    dbName,
    onError: (error) => {
      throw error;
    },
  });
  const controlPlane = await openControlPlane({ mongoUri, dbName, changes });
  return { controlPlane, changes };
}

/** A trusted-issuers file that trusts the test issuer for every tenant, and `more` (entries of the file's format). */
export function writeTrustedIssuersFile(issuer: TestIssuer, more: readonly Record<string, unknown>[] = []): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-issuers-')), 'issuers.json');
  const platformIssuer = { issuer: TEST_ISSUER, audience: TEST_AUDIENCE, tenants: '*', jwksFile: issuer.jwksFile };
  writeFileSync(file, JSON.stringify({ issuers: [platformIssuer, ...more] }));
  return file;
}

export interface TestPlatformOptions {
  /** Further trusted issuers, in the trusted-issuers file's format (with absolute `jwksFile` paths). */
  issuers?: readonly Record<string, unknown>[];
  /** Told of every command the gateway sends to its control plane. */
  onControlPlaneCommand?: StartGatewayOptions['onControlPlaneCommand'];
  /** Awaited right after authentication for every /graphql request (server.ts, the same option). */
  afterAuthentication?: StartGatewayOptions['afterAuthenticationForTests'];
  /** Fixtures in place of the standard ones (fixtures.ts), e.g. one with a mutation; with the policy that covers them. */
  fixtures?: Partial<Record<SubgraphFixture['name'], SubgraphFixture>>;
  authorization?: StartGatewayOptions['authorization'];
}

export async function startTestPlatform(
  overrides: Partial<GatewayConfig> = {},
  platformOptions: TestPlatformOptions = {},
): Promise<TestPlatform> {
  const secret = randomBytes(32);
  const issuer = await createTestIssuer();
  const { controlPlane, changes } = await openTestControlPlane();
  await controlPlane.tenants.createTenant({ id: 'acme', name: 'Acme', plan: 'pro', origins: [ACME_ORIGIN] });
  await controlPlane.tenants.createTenant({ id: 'globex', name: 'Globex', plan: 'free' });
  const [a, p, i] = await Promise.all(
    [accounts, products, inventory].map((fixture) =>
      startTestSubgraph({ ...(platformOptions.fixtures?.[fixture.name] ?? fixture), gatewaySecret: secret }),
    ),
  );
  const subgraphs = { accounts: a!, products: p!, inventory: i! };
  const config: GatewayConfig = {
    production: false,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'debug',
    supergraphPath: writeTestSupergraph(Object.values(subgraphs)),
    subgraphUrls: {
      accounts: subgraphs.accounts.url,
      products: subgraphs.products.url,
      inventory: subgraphs.inventory.url,
      reviews: 'http://127.0.0.1:9/graphql',
    },
    subgraphTimeoutMs: TEST_SUBGRAPH_TIMEOUT_MS,
    maxBodyBytes: 16 * 1024,
    internalSecret: { source: 'env', secret },
    jwt: { trustedIssuersFile: writeTrustedIssuersFile(issuer, platformOptions.issuers), trustDevIssuer: false },
    controlPlane: { mongoUri: process.env.TEST_MONGODB_URI ?? '', dbName: controlPlane.dbName },
    redisUrl: process.env.TEST_REDIS_URL ?? '',
    budgetFailMode: 'open',
    budgetRedisTimeoutMs: TEST_REDIS_TIMEOUT_MS,
    apqRedisTimeoutMs: TEST_REDIS_TIMEOUT_MS,
    ...overrides,
  };
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = createLogger({
    level: 'debug',
    sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  const gateway = await startGateway(config, {
    logger,
    authorization: platformOptions.authorization ?? fixtureAuthorization,
    ...(platformOptions.onControlPlaneCommand ? { onControlPlaneCommand: platformOptions.onControlPlaneCommand } : {}),
    ...(platformOptions.afterAuthentication
      ? { afterAuthenticationForTests: platformOptions.afterAuthentication }
      : {}),
  });
  const defaultToken = await issuer.sign();

  const platform: TestPlatform = {
    gateway,
    issuer,
    subgraphs,
    config,
    controlPlane,
    logs,
    async graphql(body, options = {}) {
      const token = options.apiKey !== undefined ? null : options.token === undefined ? defaultToken : options.token;
      const res = await fetch(`${gateway.url}/graphql${options.query ?? ''}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(options.apiKey === undefined ? {} : { 'x-api-key': options.apiKey }),
          ...options.headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: JSON.parse(text) as GraphQLHttpResult['body'], text };
    },
    async issueApiKey(request) {
      const issued = await controlPlane.apiKeys.issue(request);
      // Any answer but 401 means the key authenticated (an ad-hoc document from a partner is refused 400 after
      // that). A few polls at most, each a failed authentication of this address: far below the limiter's 100.
      const knownBy = Date.now() + 5_000;
      while ((await platform.graphql({ query: '{ __typename }' }, { apiKey: issued.key })).status === 401) {
        if (Date.now() > knownBy) throw new Error(`the gateway did not accept the new key ${issued.record.id} in 5 s`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return issued;
    },
    async stop() {
      await gateway.stop();
      await Promise.all(Object.values(subgraphs).map((s) => s.stop()));
      await controlPlane.dropDatabase();
      await controlPlane.close();
      await changes.close();
    },
  };
  return platform;
}
