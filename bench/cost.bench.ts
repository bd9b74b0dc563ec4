/**
 * Cost estimation per request (cold: compile and evaluate; cached: evaluate a cached plan) and the budget's round
 * trip to Redis (one reservation, one settlement). Prints median and p99 in microseconds; asserts nothing.
 *
 *   npx tsx bench/cost.bench.ts            # uses REDIS_URL, default redis://127.0.0.1:6379
 */
import { getOperationAST, parse } from 'graphql';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../common/logger';
import { createBudget } from '../gateway/src/budget/budget';
import { createBudgetRedis } from '../gateway/src/budget/redis';
import { compileCostPlan, createCostEstimator, createCostModel, evaluateCostPlan, type EstimateRequest } from '../gateway/src/cost/estimate';

const model = createCostModel(readFileSync(join(__dirname, '..', 'schema', 'supergraph.graphql'), 'utf8'));

function request(query: string, variables: Record<string, unknown> = {}): EstimateRequest {
  const document = parse(query);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  return { document, operation, operationName: null, queryHash: createHash('sha256').update(query).digest('hex'), variables };
}

function percentiles(samples: number[]): { median: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { median: at(0.5), p99: at(0.99) };
}

function report(label: string, samplesNs: number[]): void {
  const { median, p99 } = percentiles(samplesNs);
  console.log(`${label.padEnd(58)} median ${(median / 1_000).toFixed(1).padStart(8)} µs   p99 ${(p99 / 1_000).toFixed(1).padStart(8)} µs`);
}

function measure(iterations: number, fn: () => void): number[] {
  for (let i = 0; i < Math.min(200, iterations); i += 1) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i += 1) {
    const started = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - started));
  }
  return samples;
}

const levels = 20;
const bombFragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`);
const OPERATIONS: Record<string, EstimateRequest> = {
  'me { id name }': request('{ me { id name } }'),
  'products(10) > reviews(5) > author': request(
    '{ products(first: 10) { edges { node { name shippingEstimate reviews(first: 5) { edges { node { rating author { name } } } } } } } }',
  ),
  'same, slicing arguments as variables': request(
    `query($p: Int!, $r: Int!) { products(first: $p) { edges { node { name shippingEstimate
       reviews(first: $r) { edges { node { rating author { name } } } } } } } }`,
    { p: 10, r: 5 },
  ),
  'mutation with an input object': request('mutation { createProduct(input: { sku: "s", name: "n", price: 1, weight: 2 }) { id name } }'),
};

console.log('cost estimation');
for (const [label, operation] of Object.entries(OPERATIONS)) {
  report(`  cold   ${label}`, measure(2_000, () => evaluateCostPlan(compileCostPlan(model, operation.document, operation.operation), operation.variables)));
  const estimator = createCostEstimator({ model });
  report(`  cached ${label}`, measure(20_000, () => estimator.estimate(operation)));
}
const bomb = request(`{ me { ...F0 } }\n${bombFragments.join('\n')}\nfragment F${levels} on User { id }`);
report('  cold   2^20 fragment bomb, refused at 20 000 visits', measure(200, () => {
  try {
    compileCostPlan(model, bomb.document, bomb.operation);
  } catch {
    // refused, as intended
  }
}));

async function benchBudget(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = createBudgetRedis(url);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  const prefix = `tollgate-bench:budget:${randomBytes(6).toString('hex')}`;
  const budget = createBudget({ redis, failMode: 'closed', logger: createLogger({ sink: () => {} }), keyPrefix: prefix });
  const policy = { capacity: 1_000_000, restoreRate: 1_000 };
  const subject = { tenantId: 'bench', credential: 'jwt', principal: 'bench-user' };
  const reserve: number[] = [];
  const settle: number[] = [];
  for (let i = 0; i < 5_200; i += 1) {
    let started = process.hrtime.bigint();
    const result = await budget.reserve(subject, policy, 10);
    const reserved = Number(process.hrtime.bigint() - started);
    if (!result.granted) throw new Error('bench budget refused');
    started = process.hrtime.bigint();
    await budget.settle(result.reservation, 3);
    const settled = Number(process.hrtime.bigint() - started);
    if (i >= 200) {
      reserve.push(reserved);
      settle.push(settled);
    }
  }
  console.log(`budget round trip to ${new URL(url).host} (one EVALSHA each)`);
  report('  reserve', reserve);
  report('  settle', settle);
  budget.close();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

benchBudget().catch((error: unknown) => {
  console.error('budget bench failed:', error);
  process.exitCode = 1;
});
