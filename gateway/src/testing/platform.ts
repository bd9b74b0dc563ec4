/**
 * A gateway over the fixture subgraphs, on ephemeral ports, with a test issuer and a short subgraph timeout:
 * what the gateway's integration tests run against.
 */
import { randomBytes } from 'node:crypto';
import type { GatewayConfig } from '../config';
import { startGateway, type StartedGateway } from '../server';
import { accounts, inventory, products } from './fixtures';
import { TEST_AUDIENCE, TEST_ISSUER, createTestIssuer, type TestIssuer } from './jwt';
import { startTestSubgraph, type TestSubgraph } from './subgraph';
import { writeTestSupergraph } from './supergraph';
import { createLogger, type Logger } from '../../../common/logger';

export interface TestPlatform {
  gateway: StartedGateway;
  issuer: TestIssuer;
  subgraphs: Record<'accounts' | 'products' | 'inventory', TestSubgraph>;
  config: GatewayConfig;
  /** Every log line the gateway wrote, parsed. */
  logs: Record<string, unknown>[];
  /** POSTs a JSON body to /graphql with a valid token unless `token` is given (`null`: no authorization). */
  graphql(body: unknown, options?: { token?: string | null; headers?: Record<string, string> }): Promise<GraphQLHttpResult>;
  stop(): Promise<void>;
}

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

export async function startTestPlatform(overrides: Partial<GatewayConfig> = {}): Promise<TestPlatform> {
  const secret = randomBytes(32);
  const issuer = await createTestIssuer();
  const [a, p, i] = await Promise.all(
    [accounts, products, inventory].map((fixture) => startTestSubgraph({ ...fixture, gatewaySecret: secret })),
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
    jwt: { jwks: { source: 'file', path: issuer.jwksFile }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE },
    redisUrl: 'redis://127.0.0.1:6379',
    ...overrides,
  };
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const gateway = await startGateway(config, { logger });
  const defaultToken = await issuer.sign();

  return {
    gateway,
    issuer,
    subgraphs,
    config,
    logs,
    async graphql(body, options = {}) {
      const token = options.token === undefined ? defaultToken : options.token;
      const res = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...options.headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: JSON.parse(text) as GraphQLHttpResult['body'], text };
    },
    async stop() {
      await gateway.stop();
      await Promise.all(Object.values(subgraphs).map((s) => s.stop()));
    },
  };
}
