import { GraphQLError } from 'graphql';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { createLogger } from '../../../common/logger';
import { BudgetUnavailableError, createBudget, type Budget } from '../budget/budget';
import { budgetKey } from '../budget/keys';
import { createBudgetRedis } from '../budget/redis';
import { createCostEstimator, createCostModel } from '../cost/estimate';
import { DEFAULT_PLANS, type PlanLimits } from '../tenants/plan';
import { chargeFor } from './account';
import { createCostStage, MIN_OPERATION_COST, type CostMode } from './cost';
import type { Caller, OperationRequest, Stage } from './index';
import { resolvedOperation } from '../testing/operation';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tollgate-test:cost:${randomBytes(6).toString('hex')}`;
const model = createCostModel(readFileSync(join(__dirname, '..', '..', '..', 'schema', 'supergraph.graphql'), 'utf8'));
const estimator = createCostEstimator({ model });

const LIMITS: PlanLimits = { ...DEFAULT_PLANS[0]!.limits, maxCost: 200, budget: { capacity: 500, restoreRate: 1 } };

/** products 1 + edges 10 × (ProductEdge 1 + node … reviews 16) = 181: see estimate.test.ts */
const NESTED =
  '{ products(first: 10) { edges { node { reviews(first: 5) { edges { node { author { name } } } } } } } }';
/** products 1 + 100 × (ProductEdge 1 + Product 1 + name 0) = 201 */
const OVER_MAXIMUM = '{ products(first: 100) { edges { node { name } } } }';

let redis: Redis;
let budget: Budget;
let principals = 0;

beforeAll(async () => {
  // A generous deadline: these tests are about the stage, not Redis's latency (budget/fault.test.ts is).
  redis = createBudgetRedis(REDIS_URL, { commandTimeoutMs: 1_000 }) as Redis; // a redis:// URL: one node
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  budget = createBudget({ redis, failMode: 'closed', logger: createLogger({ sink: () => {} }), keyPrefix: PREFIX });
});

afterAll(async () => {
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

function stage(mode: CostMode, withBudget: Budget = budget) {
  return createCostStage({ estimator, limitsFor: () => LIMITS, modeFor: () => mode, budget: withBudget });
}

/**
 * Runs the stage and waits for what it decided: a refusal it throws, or the one its pending admission (the budget's
 * reservation, which the stage does not wait for) comes to.
 */
async function decided(costStage: Stage, operation: OperationRequest): Promise<void> {
  await costStage.run(operation);
  const refusal = await operation.admission?.decision;
  if (refusal) throw refusal;
}

async function refusalOf(run: unknown): Promise<GraphQLError> {
  try {
    await run;
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const unavailable: Budget = {
  reserve: () => Promise.reject(new BudgetUnavailableError()),
  settle: () => Promise.resolve(undefined),
  stats: () => ({
    backend: 'memory',
    outages: 1,
    recoveries: 0,
    redisFailures: 1,
    fallbackDecisions: 1,
    lostSettlements: 0,
  }),
  flush: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

describe('cost stage, enforce mode', () => {
  it('reserves the estimate and records it for accounting', async () => {
    const operation = resolvedOperation(NESTED, caller());
    await decided(stage('enforce'), operation);
    const report = operation.cost;
    expect(report).toMatchObject({
      mode: 'enforce',
      requestedQueryCost: 181,
      reservation: { amount: 181, backend: 'redis' },
      // 500 − 181 = 319
      throttleStatus: { maximumAvailable: 500, currentlyAvailable: 319, restoreRate: 1 },
    });
    expect(report?.refusal).toBeUndefined();
  });

  it("estimates an operation that selects nothing billable at the charge's floor, so estimate and charge agree", async () => {
    const operation = resolvedOperation('{ __typename }', caller());
    // The estimator prices `__typename` at 0 (Apollo Router's rule); the operation as a whole is never free.
    expect(estimator.estimate(operation).cost).toBe(0);
    await decided(stage('enforce'), operation);
    const report = operation.cost!;
    expect(report).toMatchObject({
      requestedQueryCost: MIN_OPERATION_COST,
      reservation: { amount: MIN_OPERATION_COST },
    });
    const executed = {
      executed: true,
      body: { kind: 'single', singleResult: { data: { __typename: 'Query' } } },
    } as const;
    expect(chargeFor(report, executed)).toBe(report.requestedQueryCost);
  });

  it('refuses an estimate above maxCost before anything is reserved', async () => {
    const who = caller();
    const operation = resolvedOperation(OVER_MAXIMUM, who);
    const error = await refusalOf(decided(stage('enforce'), operation));
    expect(error.extensions).toMatchObject({
      code: 'COST_ESTIMATED_TOO_EXPENSIVE',
      estimated: 201,
      maximum: 200,
      http: { status: 400 },
    });
    // Nothing charged: the caller's bucket was never created.
    expect(
      await redis.exists(budgetKey({ tenantId: 'acme', credential: 'jwt', principal: who.principal }, PREFIX)),
    ).toBe(0);
    expect(operation.cost).toMatchObject({ requestedQueryCost: 201, refusal: 'COST_ESTIMATED_TOO_EXPENSIVE' });
  });

  it('refuses with RATE_LIMITED, Retry-After and the throttle status once the budget is spent', async () => {
    const who = caller();
    await decided(stage('enforce'), resolvedOperation(NESTED, who));
    await decided(stage('enforce'), resolvedOperation(NESTED, who));
    // 500 − 2 × 181 = 138 left; 181 − 138 = 43 missing at 1 point/s → retry in 43 s
    const error = await refusalOf(decided(stage('enforce'), resolvedOperation(NESTED, who)));
    expect(error.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfter: 43,
      cost: {
        requestedQueryCost: 181,
        throttleStatus: { maximumAvailable: 500, currentlyAvailable: 138, restoreRate: 1 },
      },
    });
    const http = error.extensions.http as { status: number; headers: Map<string, string> };
    expect(http.status).toBe(429);
    expect(http.headers.get('retry-after')).toBe('43');
  });

  it('refuses a fragment bomb as too expensive to estimate, even in measure mode', async () => {
    const levels = 20;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`);
    const bomb = `{ me { ...F0 } }\n${fragments.join('\n')}\nfragment F${levels} on User { id }`;
    for (const mode of ['enforce', 'measure'] as const) {
      const error = await refusalOf(decided(stage(mode), resolvedOperation(bomb, caller())));
      expect(error.extensions).toMatchObject({ code: 'COST_ESTIMATED_TOO_EXPENSIVE', http: { status: 400 } });
    }
  });

  it('answers SERVICE_UNAVAILABLE when the budget store is down and the budget fails closed', async () => {
    const error = await refusalOf(decided(stage('enforce', unavailable), resolvedOperation(NESTED, caller())));
    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', http: { status: 503 } });
  });
});

describe('cost stage, the reservation in flight', () => {
  it('returns before the budget answers; the decision arrives with the request, and the report with it', async () => {
    let answer: (value: Awaited<ReturnType<Budget['reserve']>>) => void = () => undefined;
    const slow: Budget = { ...unavailable, reserve: () => new Promise((resolve) => (answer = resolve)) };
    const operation = resolvedOperation(NESTED, caller());
    await stage('enforce', slow).run(operation);
    // Nothing decided yet: no report, and the decision is pending.
    expect(operation.cost).toBeUndefined();
    expect(operation.admission?.stage).toBe('cost');
    const status = { maximumAvailable: 500, currentlyAvailable: 100, restoreRate: 1 };
    answer({ granted: false, status, retryAfterSeconds: 81, backend: 'redis' });
    const refusal = await operation.admission!.decision;
    expect(refusal?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 81, http: { status: 429 } });
    expect(operation.cost).toMatchObject({ requestedQueryCost: 181, refusal: 'RATE_LIMITED', throttleStatus: status });
  });

  it('turns an unexpected failure of the reservation into a 500 refusal rather than a rejection', async () => {
    const broken: Budget = { ...unavailable, reserve: () => Promise.reject(new RangeError('invalid budget policy')) };
    const operation = resolvedOperation(NESTED, caller());
    await stage('enforce', broken).run(operation);
    const refusal = await operation.admission!.decision;
    expect(refusal?.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', http: { status: 500 } });
    expect(refusal?.message).toBe('Internal server error');
  });
});

describe('cost stage, measure mode', () => {
  it('never refuses for cost, but computes, charges and records what enforcement would have done', async () => {
    const who = caller();
    const operation = resolvedOperation(OVER_MAXIMUM, who);
    await expect(decided(stage('measure'), operation)).resolves.toBeUndefined();
    expect(operation.cost).toMatchObject({
      mode: 'measure',
      requestedQueryCost: 201,
      refusal: 'COST_ESTIMATED_TOO_EXPENSIVE',
      reservation: { amount: 201 },
      throttleStatus: { currentlyAvailable: 299 },
    });
    // Over budget too: 299 − 201 − 201 = −103, still not refused.
    await decided(stage('measure'), resolvedOperation(OVER_MAXIMUM, who));
    const third = resolvedOperation(OVER_MAXIMUM, who);
    await expect(decided(stage('measure'), third)).resolves.toBeUndefined();
    expect(third.cost?.throttleStatus?.currentlyAvailable).toBeLessThan(0);
  });

  it('goes on without a reservation when the budget store is down', async () => {
    const operation = resolvedOperation(NESTED, caller());
    await expect(decided(stage('measure', unavailable), operation)).resolves.toBeUndefined();
    const report = operation.cost;
    expect(report).toMatchObject({ requestedQueryCost: 181, refusal: 'SERVICE_UNAVAILABLE' });
    expect(report?.reservation).toBeUndefined();
  });
});
