/**
 * The data source's side of deduplication (dedupe.ts), with a poster the test answers by hand: what is eligible,
 * what the breaker, the request log and the metrics see, and that every waiter gets its own copy of the answer.
 */
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { randomBytes } from 'node:crypto';
import type { Role } from '../../../common/ids';
import { deriveSubgraphKey } from '../../../common/internal-token';
import { createLogger } from '../../../common/logger';
import type { GatewayContext } from '../request';
import { DEFAULT_PLANS } from '../tenants/plan';
import { DEFAULT_TENANT_SETTINGS, type TenantRecord } from '../tenants/tenant';
import { createCircuitBreaker } from './circuit-breaker';
import { SubgraphDataSource, type SubgraphFetchMetrics } from './data-source';
import { createSubgraphDedupe } from './dedupe';
import type { SubgraphAnswer, SubgraphPoster } from './fetcher';

const QUERY = 'query Q__products__0{products{id name}}';
const MUTATION = 'mutation M__products__0{createProduct{id}}';
const ANSWER = JSON.stringify({ data: { products: [{ id: 'p1', name: 'Kettle' }] } });

const tenant = (id: string): TenantRecord => ({
  ...DEFAULT_TENANT_SETTINGS,
  id,
  name: id,
  placementEpoch: 1,
  plan: DEFAULT_PLANS[0]!,
});

let requests = 0;
function contextOf(tenantId = 'acme', principal = 'user-1', roles: Role[] = ['customer']): GatewayContext {
  requests += 1;
  return {
    requestId: `req-${requests}`,
    caller: { tenantId, principal, roles, credential: 'jwt', tokenExpiresAt: Date.now() + 60_000 },
    tenant: tenant(tenantId),
    log: { errorCodes: [] },
  };
}

/** An operation fetch as the executor builds it, for a client operation of `clientKind`. */
function fetchOf(
  ctx: GatewayContext,
  query = QUERY,
  clientKind: 'query' | 'mutation' = 'query',
): GraphQLDataSourceProcessOptions<GatewayContext> {
  return {
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query, variables: {} },
    incomingRequestContext: { operation: { operation: clientKind } } as never,
    context: ctx,
  };
}

function setup(waitMs = 5_000) {
  const pending: { resolve: (answer: SubgraphAnswer) => void; reject: (error: unknown) => void }[] = [];
  const post: SubgraphPoster = () =>
    new Promise<SubgraphAnswer>((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  const breaker = createCircuitBreaker({ failureThreshold: 2, coolDownMs: 60_000 });
  const observed: (number | undefined)[] = [];
  const deduplicated: string[] = [];
  const fetchMetrics: SubgraphFetchMetrics = {
    of: (subgraph) => ({
      observe: (status) => observed.push(status),
      deduplicated: () => deduplicated.push(subgraph),
    }),
  };
  const flights = createSubgraphDedupe<SubgraphAnswer>({ maxInFlight: 100, maxTenants: 100 });
  const dataSource = new SubgraphDataSource({
    name: 'products',
    url: 'http://products.internal/graphql',
    key: deriveSubgraphKey(randomBytes(32), 'products'),
    post,
    logger: createLogger({ level: 'error', sink: () => undefined }),
    breaker,
    fetchMetrics,
    dedupe: { flights, waitMs },
  });
  const answerAll = (body = ANSWER, statusCode = 200) => {
    for (const p of pending.splice(0)) p.resolve({ statusCode, contentType: 'application/json', body });
  };
  return { dataSource, pending, breaker, observed, deduplicated, flights, answerAll };
}

/** Lets the data sources' synchronous part run (they post before their first await). */
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SubgraphDataSource with deduplication', () => {
  it('sends one fetch for identical queries of one caller, and gives each its own copy of the answer', async () => {
    const { dataSource, pending, observed, deduplicated, answerAll } = setup();
    const contexts = [contextOf(), contextOf(), contextOf()];
    const results = contexts.map((ctx) => dataSource.process(fetchOf(ctx)));
    await tick();
    expect(pending).toHaveLength(1);
    answerAll();
    const answers = await Promise.all(results);
    for (const answer of answers) expect(answer).toEqual(JSON.parse(ANSWER));
    // Not one object shared: the gateway merges into what it gets.
    expect(answers[1]).not.toBe(answers[0]);
    expect(answers[1]!.data).not.toBe(answers[0]!.data);
    expect(observed).toEqual([200]);
    expect(deduplicated).toEqual(['products', 'products']);
    expect(contexts.map((c) => [c.log.subgraphFetches, c.log.subgraphFetchesDeduplicated])).toEqual([
      [1, undefined],
      [1, 1],
      [1, 1],
    ]);
    for (const ctx of contexts) expect(ctx.log.subgraphWaitMs).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['tenants', () => [contextOf('acme'), contextOf('globex')]],
    ['principals', () => [contextOf('acme', 'user-1'), contextOf('acme', 'user-2')]],
    ['roles', () => [contextOf('acme', 'user-1', ['customer']), contextOf('acme', 'user-1', ['staff'])]],
  ])('never shares between two %s', async (_, contexts) => {
    const { dataSource, pending, answerAll } = setup();
    const results = contexts().map((ctx) => dataSource.process(fetchOf(ctx)));
    await tick();
    expect(pending).toHaveLength(2);
    answerAll();
    await Promise.all(results);
  });

  it('never deduplicates a mutation, nor the reads of a client mutation', async () => {
    const { dataSource, pending, answerAll } = setup();
    const results = [
      dataSource.process(fetchOf(contextOf(), MUTATION, 'mutation')),
      dataSource.process(fetchOf(contextOf(), MUTATION, 'mutation')),
      dataSource.process(fetchOf(contextOf(), QUERY, 'mutation')),
      dataSource.process(fetchOf(contextOf(), QUERY, 'mutation')),
    ];
    await tick();
    expect(pending).toHaveLength(4);
    answerAll(JSON.stringify({ data: {} }));
    await Promise.all(results);
  });

  it('does not let a read that follows a settled write join a flight that began before it', async () => {
    const { dataSource, pending, answerAll } = setup();
    const before = dataSource.process(fetchOf(contextOf()));
    await tick();
    const write = dataSource.process(fetchOf(contextOf(), MUTATION, 'mutation'));
    await tick();
    expect(pending).toHaveLength(2);
    // The write settles while the older read is still in flight.
    pending.splice(1, 1)[0]!.resolve({ statusCode: 200, contentType: 'application/json', body: '{"data":{}}' });
    await write;
    const after = dataSource.process(fetchOf(contextOf()));
    await tick();
    expect(pending).toHaveLength(2);
    answerAll();
    await Promise.all([before, after]);
  });

  it('shares a failed answer as each waiter’s coded error, and the breaker counts one fetch', async () => {
    const { dataSource, pending, breaker, answerAll } = setup();
    const results = [contextOf(), contextOf(), contextOf()].map((ctx) => dataSource.process(fetchOf(ctx)));
    await tick();
    expect(pending).toHaveLength(1);
    answerAll('<html>bad gateway</html>', 502);
    for (const result of await Promise.all(results)) {
      expect(result.data).toBeNull();
      expect(result.errors?.[0]?.extensions?.code).toBe('DOWNSTREAM_SERVICE_ERROR');
    }
    // Threshold 2: three failures counted would have opened it.
    expect(breaker.state()).toBe('closed');
  });

  it('times a follower out at its own deadline while the leader still gets the answer', async () => {
    const { dataSource, pending, answerAll } = setup(30);
    const leader = dataSource.process(fetchOf(contextOf()));
    await tick();
    const follower = dataSource.process(fetchOf(contextOf()));
    const timedOut = await follower;
    expect(timedOut.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_TIMEOUT');
    expect(pending).toHaveLength(1);
    answerAll();
    await expect(leader).resolves.toEqual(JSON.parse(ANSWER));
  });

  it('fails a would-be follower at once while the breaker is not closed, as every fetch then', async () => {
    const { dataSource, pending, breaker, answerAll } = setup();
    const leader = dataSource.process(fetchOf(contextOf()));
    await tick();
    // The breaker opens meanwhile (other queries failed): the identical query does not wait on the older fetch.
    breaker.tryAcquire()?.failure();
    breaker.tryAcquire()?.failure();
    expect(breaker.state()).toBe('open');
    const refused = await dataSource.process(fetchOf(contextOf()));
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' });
    answerAll();
    await expect(leader).resolves.toEqual(JSON.parse(ANSWER));
    expect(pending).toHaveLength(0);
  });
});
