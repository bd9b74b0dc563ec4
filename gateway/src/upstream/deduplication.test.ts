/**
 * Deduplication of identical in-flight subgraph queries (dedupe.ts) through the whole gateway, over real HTTP to
 * the fixture subgraphs, which record every request they get and here answer after a delay so that concurrent
 * requests overlap. The products fixture gains a mutation (the standard fixtures have none).
 */
import { randomBytes } from 'node:crypto';
import { parse } from 'graphql';
import { allow } from 'graphql-shield';
import { createLogger } from '../../../common/logger';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { deriveSubgraphKey } from '../../../common/internal-token';
import type { GatewayContext } from '../request';
import { DEFAULT_PLANS } from '../tenants/plan';
import { DEFAULT_TENANT_SETTINGS } from '../tenants/tenant';
import { PRODUCTS, fixtureAuthorization, products, type SubgraphFixture } from '../testing/fixtures';
import { startTestPlatform, type GraphQLHttpResult, type TestPlatform } from '../testing/platform';
import { startTestSubgraph } from '../testing/subgraph';
import { SubgraphDataSource } from './data-source';
import { createSubgraphDedupe } from './dedupe';
import { createSubgraphHttp, type SubgraphAnswer } from './fetcher';

const TIMEOUT_MS = 20_000;
const N = 5;
const QUERY = '{ products { id name } }';
const EXPECTED = { products: PRODUCTS };

const withMutation: SubgraphFixture = {
  name: 'products',
  typeDefs: parse(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
    type Query { products: [Product!]! }
    type Mutation { touch(id: ID!): Product }
    type Product @key(fields: "id") { id: ID! name: String! related: [Product!]! }
  `),
  resolvers: {
    ...products.resolvers,
    Mutation: { touch: (_: unknown, { id }: { id: string }) => PRODUCTS.find((p) => p.id === id) },
  },
};
const authorization = {
  ...fixtureAuthorization,
  rules: { ...fixtureAuthorization.rules, Mutation: { touch: allow } },
};

/**
 * Holds the products subgraph's answers, sends the requests (one per token, `undefined` the default token), waits
 * until `ready` holds — with the answers held, the gateway's fetches overlap for as long as it takes — then lets
 * the subgraph answer.
 */
async function whileHeld(
  platform: TestPlatform,
  body: unknown,
  tokens: (string | undefined)[],
  ready: () => Promise<boolean> | boolean,
): Promise<GraphQLHttpResult[]> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  platform.subgraphs.products.hold = () => held;
  try {
    const results = Promise.all(tokens.map((token) => platform.graphql(body, token === undefined ? {} : { token })));
    await until(ready);
    release();
    return await results;
  } finally {
    release();
    platform.subgraphs.products.hold = undefined;
  }
}

/** Polls `condition` until it holds; a generous bound only turns a hang into a failure. */
async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  const limit = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > limit) throw new Error(`not reached in 15 s: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The gateway's `tollgate_subgraph_fetches_deduplicated_total{subgraph="products"}`. */
async function deduplicatedSoFar(platform: TestPlatform): Promise<number> {
  const text = await (await fetch(platform.gateway.metricsUrl!)).text();
  const match = /^tollgate_subgraph_fetches_deduplicated_total\{subgraph="products"\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

const requestLines = (platform: TestPlatform, results: GraphQLHttpResult[]) =>
  results.map((r) => platform.logs.find((l) => l.msg === 'request' && l.requestId === r.headers.get('x-request-id')));

const defaults = (count: number) => Array<undefined>(count).fill(undefined);

describe('deduplication of identical in-flight subgraph queries (SUBGRAPH_DEDUPLICATION=queries)', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform(
      { subgraphTimeoutMs: TIMEOUT_MS, metrics: { host: '127.0.0.1', port: 0, maxTenants: 10 } },
      { fixtures: { products: withMutation }, authorization },
    );
  }, 60_000);
  afterAll(() => platform?.stop());
  beforeEach(() => {
    platform.subgraphs.products.requests.length = 0;
    platform.subgraphs.products.mode = 'ok';
  });

  it('sends one subgraph request for N concurrent identical queries of one principal, and answers each', async () => {
    const before = await deduplicatedSoFar(platform);
    const results = await whileHeld(
      platform,
      { query: QUERY },
      defaults(N),
      async () => (await deduplicatedSoFar(platform)) >= before + N - 1,
    );
    for (const result of results) {
      expect(result.status).toBe(200);
      expect(result.body.data).toEqual(EXPECTED);
    }
    expect(platform.subgraphs.products.requests).toHaveLength(1);
    // The request lines stay true: every request had its fetch, N − 1 of them answered by another's.
    const lines = requestLines(platform, results);
    expect(lines.map((l) => l?.subgraphFetches)).toEqual(Array(N).fill(1));
    expect(lines.filter((l) => l?.deduplicated === 1)).toHaveLength(N - 1);
    expect(await deduplicatedSoFar(platform)).toBe(before + N - 1);
  });

  it('sends one request per principal, and one per tenant', async () => {
    const [other, globex] = await Promise.all([
      platform.issuer.sign({ sub: 'user-2' }),
      platform.issuer.sign({ tenant: 'globex' }),
    ]);
    // Each pair: one leads, one follows — the subgraph is let answer once both followers joined.
    const twoOfEach = async () => (await deduplicatedSoFar(platform)) >= before + 2;
    let before = await deduplicatedSoFar(platform);
    const principals = await whileHeld(platform, { query: QUERY }, [undefined, other, undefined, other], twoOfEach);
    expect(principals.map((r) => r.body.data)).toEqual(Array(4).fill(EXPECTED));
    expect(platform.subgraphs.products.requests.map((r) => r.claims?.sub).sort()).toEqual(['user-1', 'user-2']);
    platform.subgraphs.products.requests.length = 0;
    before = await deduplicatedSoFar(platform);
    const tenants = await whileHeld(platform, { query: QUERY }, [undefined, globex, undefined, globex], twoOfEach);
    expect(tenants.map((r) => r.body.data)).toEqual(Array(4).fill(EXPECTED));
    expect(platform.subgraphs.products.requests.map((r) => r.claims?.ten).sort()).toEqual(['acme', 'globex']);
  });

  it('never deduplicates mutations', async () => {
    const mutation = { query: 'mutation { touch(id: "p1") { id name } }' };
    const before = await deduplicatedSoFar(platform);
    // Deduplicated, fewer than N would ever reach the subgraph, and this would fail on its bound.
    const results = await whileHeld(
      platform,
      mutation,
      defaults(N),
      () => platform.subgraphs.products.requests.length === N,
    );
    for (const result of results) expect(result.body.data).toEqual({ touch: PRODUCTS[0] });
    expect(platform.subgraphs.products.requests).toHaveLength(N);
    expect(await deduplicatedSoFar(platform)).toBe(before);
  });

  it('does not let a query that follows a completed write join a fetch that began before it', async () => {
    const { products: subgraph } = platform.subgraphs;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Reads are held; the write is answered at once.
    subgraph.hold = (query) => (query.trimStart().startsWith('mutation') ? undefined : held);
    try {
      const before = await deduplicatedSoFar(platform);
      const older = platform.graphql({ query: QUERY });
      await until(() => subgraph.requests.length === 1);
      const write = await platform.graphql({ query: 'mutation { touch(id: "p1") { id } }' });
      expect(write.body.data).toEqual({ touch: { id: 'p1' } });
      // The same query, same principal, while the older read is still in flight: sent, not joined to it.
      const newer = platform.graphql({ query: QUERY });
      await until(() => subgraph.requests.length === 3);
      // And the next one, with no write in between, joins the newer.
      const newest = platform.graphql({ query: QUERY });
      await until(async () => (await deduplicatedSoFar(platform)) === before + 1);
      release();
      for (const result of await Promise.all([older, newer, newest])) expect(result.body.data).toEqual(EXPECTED);
      expect(subgraph.requests).toHaveLength(3);
    } finally {
      release();
      subgraph.hold = undefined;
    }
  });

  it('gives each waiter its own coded error when the shared fetch fails', async () => {
    platform.subgraphs.products.mode = 'http500';
    const before = await deduplicatedSoFar(platform);
    const results = await whileHeld(
      platform,
      { query: QUERY },
      defaults(N),
      async () => (await deduplicatedSoFar(platform)) >= before + N - 1,
    );
    expect(platform.subgraphs.products.requests).toHaveLength(1);
    for (const result of results) {
      expect(result.body.data).toBeNull();
      expect(result.body.errors).toEqual([
        {
          message: 'A downstream service failed',
          path: ['products'],
          extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
        },
      ]);
      // Nothing of the subgraph's answer reaches anyone.
      expect(result.text).not.toMatch(/10\.1\.2\.3|Mongo|stack/);
    }
  });
});

describe('deduplication off (SUBGRAPH_DEDUPLICATION=off)', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ subgraphTimeoutMs: TIMEOUT_MS, subgraphDeduplication: 'off' });
  }, 60_000);
  afterAll(() => platform?.stop());

  it('sends every request', async () => {
    const results = await whileHeld(
      platform,
      { query: QUERY },
      defaults(N),
      () => platform.subgraphs.products.requests.length === N,
    );
    for (const result of results) expect(result.body.data).toEqual(EXPECTED);
    expect(platform.subgraphs.products.requests).toHaveLength(N);
    expect(requestLines(platform, results).every((l) => l?.deduplicated === undefined)).toBe(true);
  });
});

describe('a follower whose deadline is shorter than the shared fetch (real HTTP)', () => {
  it('times out alone, while the leader gets the answer', async () => {
    const secret = randomBytes(32);
    const subgraph = await startTestSubgraph({ ...products, gatewaySecret: secret });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    subgraph.hold = () => held;
    const http = createSubgraphHttp();
    const flights = createSubgraphDedupe<SubgraphAnswer>({ maxInFlight: 10, maxTenants: 10 });
    // Two data sources of one subgraph on one map, as two supergraph versions have during a hot swap; the second
    // gives its callers a deadline shorter than the subgraph's answer takes.
    const source = (waitMs: number) =>
      new SubgraphDataSource({
        name: 'products',
        url: subgraph.url,
        key: deriveSubgraphKey(secret, 'products'),
        post: http.posterWithTimeout({ timeoutMs: TIMEOUT_MS }),
        logger: createLogger({ level: 'error', sink: () => undefined }),
        dedupe: { flights, waitMs },
      });
    const context = (requestId: string): GatewayContext => ({
      requestId,
      caller: { tenantId: 'acme', principal: 'user-1', roles: ['customer'], credential: 'jwt', tokenExpiresAt: 0 },
      tenant: { ...DEFAULT_TENANT_SETTINGS, id: 'acme', name: 'Acme', placementEpoch: 1, plan: DEFAULT_PLANS[0]! },
      log: { errorCodes: [] },
    });
    const fetchOf = (requestId: string): GraphQLDataSourceProcessOptions<GatewayContext> => ({
      kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
      request: { query: 'query Q__products__0{products{id name}}', variables: {} },
      incomingRequestContext: { operation: { operation: 'query' } } as never,
      context: context(requestId),
    });
    try {
      const leader = source(TIMEOUT_MS).process(fetchOf('req-leader'));
      // The subgraph holds its answer until the follower's own deadline has passed.
      const follower = await source(50).process(fetchOf('req-follower'));
      release();
      expect(follower).toEqual({
        data: null,
        errors: [
          expect.objectContaining({
            path: ['products'],
            extensions: expect.objectContaining({ code: 'SUBGRAPH_TIMEOUT' }),
          }),
        ],
      });
      expect(await leader).toEqual({ data: { products: PRODUCTS } });
      expect(subgraph.requests).toHaveLength(1);
    } finally {
      release();
      await http.close();
      await subgraph.stop();
    }
  });
});
