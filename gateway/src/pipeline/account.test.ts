import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { getOperationAST, GraphQLError, parse } from 'graphql';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { createLogger } from '../../../common/logger';
import { createBudget, type Budget } from '../budget/budget';
import { budgetKey } from '../budget/keys';
import { createBudgetRedis } from '../budget/redis';
import { ErrorCode, gatewayError } from '../errors';
import { compileCostPlan, createCostEstimator, createCostModel } from '../cost/estimate';
import { DEFAULT_PLANS, type PlanLimits } from '../tenants/plan';
import { chargeFor, createAccountStage, rateLimitHeaders } from './account';
import { createCostStage, type CostReport } from './cost';
import { createPipelinePlugin, pendAdmission, type Caller, type GatewayContext, type OperationStage } from './index';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tollgate-test:account:${randomBytes(6).toString('hex')}`;
const model = createCostModel(readFileSync(join(__dirname, '..', '..', '..', 'schema', 'supergraph.graphql'), 'utf8'));

/** Estimated 181: see estimate.test.ts. */
const NESTED =
  '{ products(first: 10) { edges { node { reviews(first: 5) { edges { node { author { name } } } } } } } }';

function report(query: string, requestedQueryCost: number): CostReport {
  const document = parse(query);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  return {
    mode: 'enforce',
    requestedQueryCost,
    plan: compileCostPlan(model, document, operation),
    variables: {},
    policy: { capacity: 500, restoreRate: 1 },
  };
}

describe('what an operation is charged', () => {
  const nested = report(NESTED, 181);
  const review = { node: { author: { name: 'Ada' } } };
  const data = {
    products: { edges: [{ node: { reviews: { edges: [review] } } }, { node: { reviews: { edges: [review] } } }] },
  };
  const single = (result: object): GraphQLResponse['body'] => ({ kind: 'single', singleResult: result });

  it('is nothing when the operation never executed', () => {
    expect(chargeFor(nested, { executed: false })).toBe(0);
  });

  it('is the actual cost of what came back', () => {
    // 2 products × 1 review: 13 (see estimate.test.ts)
    expect(chargeFor(nested, { executed: true, body: single({ data }) })).toBe(13);
  });

  it('is at least 1 for an executed operation', () => {
    expect(
      chargeFor(report('{ __typename }', 0), { executed: true, body: single({ data: { __typename: 'Query' } }) }),
    ).toBe(1);
  });

  it('is nothing when the executor refused before fetching (no `data` entry at all)', () => {
    const coercion = single({ errors: [{ message: 'bad variable', extensions: { code: 'BAD_USER_INPUT' } }] });
    expect(chargeFor(nested, { executed: true, body: coercion })).toBe(0);
    const planner = single({ errors: [{ message: 'too complex', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    expect(chargeFor(nested, { executed: true, body: planner })).toBe(0);
  });

  it('is at least the estimate when a subgraph failed or timed out', () => {
    const timedOut = single({ data, errors: [{ message: 'timed out', extensions: { code: 'SUBGRAPH_TIMEOUT' } }] });
    expect(chargeFor(nested, { executed: true, body: timedOut })).toBe(181);
    const failed = single({ data: null, errors: [{ message: 'x', extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } }] });
    expect(chargeFor(nested, { executed: true, body: failed })).toBe(181);
    // A NOT_FOUND is the client's answer, not a failure: the actual cost stands.
    const notFound = single({ data, errors: [{ message: 'no', extensions: { code: 'NOT_FOUND' } }] });
    expect(chargeFor(nested, { executed: true, body: notFound })).toBe(13);
  });
});

describe('RateLimit headers', () => {
  it('follow draft-ietf-httpapi-ratelimit-headers', () => {
    // window: 1000 / 50 = 20 s to fill; 100 missing at 50/s → full in 2 s
    expect(
      rateLimitHeaders(
        { capacity: 1_000, restoreRate: 50 },
        { maximumAvailable: 1_000, currentlyAvailable: 900, restoreRate: 50 },
      ),
    ).toEqual({
      'ratelimit-policy': '"budget";q=1000;w=20',
      ratelimit: '"budget";r=900;t=2',
    });
  });

  it('show a bucket in debt as nothing remaining, and the time to pay it off', () => {
    // 1010 missing at 50/s → 20.2 → 21 s
    expect(
      rateLimitHeaders(
        { capacity: 1_000, restoreRate: 50 },
        { maximumAvailable: 1_000, currentlyAvailable: -10, restoreRate: 50 },
      ).ratelimit,
    ).toBe('"budget";r=0;t=21');
  });
});

describe('accounting through Apollo Server', () => {
  const LIMITS: PlanLimits = { ...DEFAULT_PLANS[0]!.limits, maxCost: 200, budget: { capacity: 500, restoreRate: 1 } };
  let redis: Redis;
  let budget: Budget;
  let server: ApolloServer<GatewayContext>;
  let principals = 0;
  const calls: string[] = [];

  const review = { node: { author: { name: 'Ada' } } };
  const rootValue = {
    products: ({ first, after }: { first: number; after?: string }) => {
      calls.push(`products(${first})`);
      if (after === 'timeout') throw new GraphQLError('timed out', { extensions: { code: 'SUBGRAPH_TIMEOUT' } });
      return { edges: [{ node: { reviews: { edges: [review] } } }, { node: { reviews: { edges: [review] } } }] };
    },
  };
  /** Stands for any stage after cost that refuses (authorization, say). */
  const refusesNamedForbidden: OperationStage = {
    name: 'refuses-forbidden',
    run(operation) {
      if (operation.operationName === 'Forbidden') throw gatewayError(ErrorCode.FORBIDDEN, 'Forbidden');
    },
  };

  /** Stands for the monthly quota: an earlier stage whose refusal is still in flight when the cost stage reserves. */
  const overQuotaLater: OperationStage = {
    name: 'quota',
    run(operation) {
      if (operation.operationName !== 'OverQuota') return;
      const refusal = gatewayError(ErrorCode.QUOTA_EXCEEDED, 'The monthly cost quota is used up.');
      pendAdmission(operation, 'quota', new Promise((resolve) => setTimeout(() => resolve(refusal), 20)));
    },
  };

  beforeAll(async () => {
    // A generous deadline: these tests are about the stage, not Redis's latency (budget/fault.test.ts is).
    redis = createBudgetRedis(REDIS_URL, { commandTimeoutMs: 1_000 }) as Redis; // a redis:// URL: one node
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    budget = createBudget({ redis, failMode: 'closed', logger: createLogger({ sink: () => {} }), keyPrefix: PREFIX });
    const costStage = createCostStage({
      estimator: createCostEstimator({ model }),
      limitsFor: () => LIMITS,
      modeFor: () => 'enforce',
      budget,
    });
    server = new ApolloServer<GatewayContext>({
      schema: model.schema,
      rootValue,
      plugins: [
        createPipelinePlugin([createAccountStage({ budget }), overQuotaLater, costStage, refusesNamedForbidden]),
      ],
    });
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
    await budget.close();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  function contextFor(who: Caller): GatewayContext {
    return { requestId: `req-${randomBytes(4).toString('hex')}`, caller: who, log: { errorCodes: [] } };
  }

  function caller(): Caller {
    principals += 1;
    return {
      tenantId: 'acme',
      principal: `user-${principals}`,
      roles: ['staff'],
      credential: 'jwt',
      tokenExpiresAt: Date.now() + 60_000,
    };
  }

  async function run(query: string, who: Caller, variables?: Record<string, unknown>) {
    const response = await server.executeOperation({ query, variables }, { contextValue: contextFor(who) });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return { result: response.body.singleResult, http: response.http };
  }

  it('charges the actual cost, reports it in extensions.cost and the RateLimit headers', async () => {
    const { result, http } = await run(NESTED, caller());
    expect(result.errors).toBeUndefined();
    // Reserved 181, actual 13 (2 products × 1 review): 500 − 13 = 487 left, full again in 13 s at 1/s
    expect(result.extensions?.cost).toEqual({
      requestedQueryCost: 181,
      actualQueryCost: 13,
      throttleStatus: { maximumAvailable: 500, currentlyAvailable: 487, restoreRate: 1 },
    });
    expect(http.headers.get('ratelimit-policy')).toBe('"budget";q=500;w=500');
    expect(http.headers.get('ratelimit')).toBe('"budget";r=487;t=13');
  });

  it('answers without waiting for the settlement: one script call per operation, the refund lands later', async () => {
    const who = caller();
    const key = budgetKey({ tenantId: who.tenantId, credential: who.credential, principal: who.principal }, PREFIX);
    const sent: { amount: string; conditional: string; pending: string }[] = [];
    const original = redis.sendCommand.bind(redis);
    const spy = jest.spyOn(redis, 'sendCommand').mockImplementation((command, stream) => {
      // EVALSHA sha numkeys key capacity rate amount conditional pending
      if ((command.name === 'evalsha' || command.name === 'eval') && String(command.args[2]) === key) {
        const [amount, conditional, pending] = command.args.slice(5, 8).map(String) as [string, string, string];
        sent.push({ amount, conditional, pending });
      }
      return original(command, stream);
    });
    try {
      const { result } = await run(NESTED, who);
      expect(result.extensions?.cost).toMatchObject({
        actualQueryCost: 13,
        throttleStatus: { currentlyAvailable: 487 },
      });
      // The reservation (the flush timer may have run since; it sends amount 0 and the refund as the pending part).
      expect(sent[0]).toEqual({ amount: '181', conditional: '1', pending: '0' });
      expect(sent.slice(1)).toEqual(sent.length > 1 ? [{ amount: '0', conditional: '0', pending: '-168' }] : []);
      await budget.flush();
      expect(sent.slice(1)).toEqual([{ amount: '0', conditional: '0', pending: '-168' }]);
    } finally {
      spy.mockRestore();
    }
    // 319 + 168, plus what 1/s refilled in the meantime
    const stored = Number(await redis.hget(key, 'a'));
    expect(stored).toBeGreaterThanOrEqual(487);
    expect(stored).toBeLessThan(490);
  });

  it('refuses an estimate above maxCost with no execution and no charge', async () => {
    const before = calls.length;
    // products 1 + 100 × 2 = 201 > 200
    const { result, http } = await run('{ products(first: 100) { edges { node { name } } } }', caller());
    expect(http.status).toBe(400);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'COST_ESTIMATED_TOO_EXPENSIVE',
      estimated: 201,
      maximum: 200,
    });
    expect(result.extensions?.cost).toEqual({ requestedQueryCost: 201, actualQueryCost: 0 });
    expect(calls.length).toBe(before);
  });

  it('gives the whole reservation back when a later stage refuses', async () => {
    const before = calls.length;
    const { result, http } = await run(`query Forbidden ${NESTED}`, caller());
    expect(http.status).toBe(403);
    expect(result.extensions?.cost).toEqual({
      requestedQueryCost: 181,
      actualQueryCost: 0,
      throttleStatus: { maximumAvailable: 500, currentlyAvailable: 500, restoreRate: 1 },
    });
    expect(calls.length).toBe(before);
  });

  it("gives back, unreported, what it reserved while an earlier stage's refusal was in flight", async () => {
    const who = caller();
    const key = budgetKey({ tenantId: who.tenantId, credential: who.credential, principal: who.principal }, PREFIX);
    const { result, http } = await run(`query OverQuota ${NESTED}`, who);
    expect(http.status).toBe(429);
    expect(result.data).toBeUndefined();
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['QUOTA_EXCEEDED']);
    // The refusal is the quota's: nothing of the budget in it.
    expect(result.extensions?.cost).toBeUndefined();
    expect(http.headers.get('ratelimit')).toBeUndefined();
    // The 181 points reserved meanwhile came back: once the settlement is flushed the bucket is full (deleted).
    await budget.flush();
    expect(await redis.exists(key)).toBe(0);
  });

  it('charges at least the estimate for an operation that timed out', async () => {
    // products 1 + 7 × (ProductEdge 1 + Product 1) = 15; nothing came back but the work was asked for
    const { result } = await run('{ products(first: 7, after: "timeout") { edges { node { name } } } }', caller());
    expect(result.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_TIMEOUT');
    expect(result.extensions?.cost).toMatchObject({
      requestedQueryCost: 15,
      actualQueryCost: 15,
      throttleStatus: { currentlyAvailable: 485 },
    });
  });

  it('answers RATE_LIMITED with Retry-After and the RateLimit headers once the budget is spent', async () => {
    const who = caller();
    // products 1 + 6 × (ProductEdge 1 + Product 1 + reviews (1 + 10 × (ReviewEdge 1 + Review 1 + User 1)) = 33) = 199;
    // timed out, so each is charged its full estimate.
    const heavy = `{ products(first: 6, after: "timeout") {
      edges { node { reviews(first: 10) { edges { node { author { name } } } } } } } }`;
    await run(heavy, who);
    await run(heavy, who);
    // 500 − 2 × 199 = 102 left; 199 − 102 = 97 missing at 1/s
    const { result, http } = await run(heavy, who);
    expect(http.status).toBe(429);
    expect(http.headers.get('retry-after')).toBe('97');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 97 });
    expect(result.extensions?.cost).toEqual({
      requestedQueryCost: 199,
      actualQueryCost: 0,
      throttleStatus: { maximumAvailable: 500, currentlyAvailable: 102, restoreRate: 1 },
    });
    // 398 missing at 1/s → full in 398 s
    expect(http.headers.get('ratelimit')).toBe('"budget";r=102;t=398');
  });
});
