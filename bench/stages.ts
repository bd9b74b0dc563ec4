/**
 * Stage costs: what each pipeline stage costs one request, for a repeated operation (every per-document cache warm)
 * and a first-seen one (every analysis made afresh). Folds in the former bench/authorize.bench.ts (gate: repeated,
 * first-seen, filter-mode rewrite) and bench/cost.bench.ts (estimate cold/cached, fragment bomb, budget round trip).
 *
 *   npx tsx bench/stages.ts            # REDIS_URL, default redis://127.0.0.1:6379
 *
 * `npm run bench` runs it as part of the whole benchmark (bench/run.ts).
 */
import { randomBytes } from 'node:crypto';
import { getOperationAST, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { Bench } from 'tinybench';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createLogger } from '../common/logger';
import { deriveSubgraphKey, hashQuery, mintInternalToken } from '../common/internal-token';
import { fieldFilterFor } from '../gateway/src/authz/filter';
import { AuthorizationGate, queryHashOf } from '../gateway/src/authz/gate';
import { DEFAULT_REDIS_URL } from '../gateway/src/config-common';
import { introspectionRule, ruleTree } from '../gateway/src/authz/rules';
import { apiSchema, partner, person, supergraphSdl } from '../gateway/src/authz/test-fixtures';
import { createBudget } from '../gateway/src/budget/budget';
import { createBudgetRedis } from '../gateway/src/budget/redis';
import { compileCostPlan, createCostEstimator, createCostModel } from '../gateway/src/cost/estimate';
import { loadTrustedIssuers } from '../gateway/src/credentials/issuers';
import type { Caller, OperationRequest } from '../gateway/src/request';
import { createAuthenticator } from '../gateway/src/http/authenticate';
import { createLimitsStage } from '../gateway/src/pipeline/limits';
import { DEFAULT_PLANS } from '../gateway/src/tenants/plan';
import type { TenantRecord } from '../gateway/src/tenants/tenant';
import { SubgraphDataSource } from '../gateway/src/upstream/data-source';

export interface StageResult {
  name: string;
  /** Microseconds. */
  median: number;
  p99: number;
  mean: number;
  samples: number;
  /** The target for this figure, µs, if the issue sets one. */
  target?: number;
}

const TIME_MS = Number(process.env.BENCH_STAGE_TIME_MS ?? 400);

/** A storefront page: the caller, a page of products with stock and their latest reviews (the gate's benchmark). */
function storefront(alias: string): string {
  return `query Storefront($first: Int!, $withReviews: Boolean!) {
    me { id name email }
    ${alias}: products(first: $first) {
      edges { cursor node {
        id sku name price weight inStock quantity shippingEstimate
        reviews(first: 3) @include(if: $withReviews) {
          edges { node { id rating body author { id name } } }
          pageInfo { hasNextPage endCursor }
        }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }`;
}

interface Operation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName: string | null;
  queryHash: string;
  variables: Record<string, unknown>;
}

function operationOf(
  query: string,
  variables: Record<string, unknown> = {},
  operationName: string | null = null,
): Operation {
  const document = parse(query);
  const operation = getOperationAST(document, operationName);
  if (!operation) throw new Error('no operation');
  return { document, operation, operationName, queryHash: queryHashOf(query), variables };
}

function resolved(op: Operation, caller: Caller): OperationRequest {
  return { ...op, requestId: 'bench', caller, log: { errorCodes: [] } };
}

/** Cycles through pre-built inputs so every call sees one it has not seen before (until they run out). */
function cycle<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length]!;
}

export async function runStageBenchmarks(options: {
  redisUrl: string;
  log?: (line: string) => void;
}): Promise<StageResult[]> {
  const log = options.log ?? (() => {});
  const bench = new Bench({ time: TIME_MS, warmupTime: 100 });
  const targets = new Map<string, number>();
  const add = (name: string, fn: () => unknown, target?: number) => {
    bench.add(name, fn as () => void);
    if (target !== undefined) targets.set(name, target);
  };
  const fresh = Number(process.env.BENCH_FRESH_DOCUMENTS ?? 20_000);

  // --- credential verification: cached (a repeated token) vs jose (ES256 signature) ---
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }] };
  const issuers = loadTrustedIssuers({
    file: undefined,
    production: false,
    devIssuer: { issuer: 'bench', audience: 'bench', jwks },
  });
  const sign = () =>
    new SignJWT({ tenant: 'acme', roles: ['customer'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' })
      .setIssuer('bench')
      .setAudience('bench')
      .setSubject(`user-${randomBytes(4).toString('hex')}`)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  const tenant = { id: 'acme', status: 'active', plan: DEFAULT_PLANS[1] } as unknown as TenantRecord;
  const authenticate = createAuthenticator({
    issuers,
    apiKeys: { verify: () => Promise.reject(new Error('no keys in this bench')) },
    directory: { tenantFor: async () => tenant },
  });
  const token = await sign();
  await authenticate({ authorization: `Bearer ${token}` });
  const tokens = await Promise.all(Array.from({ length: 200 }, sign));
  const nextToken = cycle(tokens);
  add('credential: repeated JWT (verified-token cache)', () => authenticate({ authorization: `Bearer ${token}` }), 5);
  add('credential: first-seen JWT (jose ES256 verify)', () => issuers.verify(nextToken(), Date.now()));

  // --- limits (shape limits + list bounds) ---
  const costModel = createCostModel(supergraphSdl);
  const limits = createLimitsStage({
    limitsFor: () => DEFAULT_PLANS[1]!.limits,
    listBounds: { model: costModel, min: 1, max: 100 },
  });
  const customer = person('customer');
  const repeated = operationOf(storefront('products'), { first: 20, withReviews: true }, 'Storefront');
  add('limits: storefront operation', () => limits.run(resolved(repeated, customer)));

  // --- authorization gate ---
  const gate = new AuthorizationGate({ schema: apiSchema, rules: ruleTree, introspectionRule });
  const nextFreshGate = cycle(
    Array.from({ length: fresh }, (_, i) =>
      operationOf(storefront(`page${i}`), { first: 20, withReviews: true }, 'Storefront'),
    ),
  );
  add(
    'authorize: repeated operation (decision plan cached)',
    () => gate.evaluate({ ...repeated, caller: customer }),
    20,
  );
  add('authorize: first-seen operation (walk + rules)', () => gate.evaluate({ ...nextFreshGate(), caller: customer }));
  const nextPartnerDoc = cycle(
    Array.from({ length: 2_000 }, (_, i) =>
      operationOf(storefront(`partner${i}`), { first: 20, withReviews: true }, 'Storefront'),
    ),
  );
  const catalogPartner = partner('catalog:read');
  add('authorize: filter-mode rewrite, first-seen', async () => {
    const { analysis, denials } = await gate.evaluate({ ...nextPartnerDoc(), caller: catalogPartner });
    fieldFilterFor(analysis, denials);
  });

  // --- cost estimation ---
  const estimator = createCostEstimator({ model: costModel });
  const costOps = Array.from({ length: fresh }, (_, i) =>
    operationOf(storefront(`cost${i}`), { first: 20, withReviews: true }, 'Storefront'),
  );
  const nextCostOp = cycle(costOps);
  add('cost: repeated operation (plan cached)', () => estimator.estimate(repeated), 20);
  add('cost: first-seen operation (compile + evaluate)', () => estimator.estimate(nextCostOp()));
  const levels = 20;
  const bombFragments = Array.from(
    { length: levels },
    (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`,
  );
  const bomb = operationOf(`{ me { ...F0 } }\n${bombFragments.join('\n')}\nfragment F${levels} on User { id }`);
  add('cost: 2^20 fragment bomb, refused at the visit cap', () => {
    try {
      compileCostPlan(costModel, bomb.document, bomb.operation);
    } catch {
      // refused, as intended
    }
  });

  // --- internal token per subgraph fetch ---
  const key = deriveSubgraphKey(randomBytes(32), 'products');
  const dataSource = new SubgraphDataSource({
    name: 'products',
    url: 'http://127.0.0.1:9/graphql',
    key,
    post: () => Promise.reject(new Error('no fetch')),
    logger: createLogger({ sink: () => {} }),
  });
  const subgraphQuery =
    'query Storefront__products__1($first:Int!){products(first:$first){edges{node{__typename id name price weight}}}}';
  const context = { requestId: 'bench-request', caller: customer, log: { errorCodes: [] } };
  const fetchOptions = () =>
    ({
      kind: 'incoming operation',
      request: { query: subgraphQuery },
      context,
      incomingRequestContext: {},
    }) as unknown as Parameters<SubgraphDataSource['internalToken']>[0];
  add(
    'internal token per fetch (hash cached + HMAC)',
    () => dataSource.internalToken(fetchOptions(), subgraphQuery),
    10,
  );
  add('internal token: mint alone (HMAC-SHA256)', () => {
    const iat = Date.now();
    mintInternalToken(key, {
      kind: 'op',
      aud: 'products',
      ten: 'acme',
      sub: 'u',
      roles: ['customer'],
      qh: hashQuery(subgraphQuery),
      rid: 'r',
      iat,
      exp: iat + 30_000,
    });
  });

  log(`stage microbenchmarks (tinybench, ${TIME_MS} ms each)…`);
  await bench.run();
  const results: StageResult[] = bench.tasks.map((task) => {
    const latency = task.result?.latency;
    const target = targets.get(task.name);
    return {
      name: task.name,
      median: (latency?.p50 ?? Number.NaN) * 1_000,
      p99: (latency?.p99 ?? Number.NaN) * 1_000,
      mean: (latency?.mean ?? Number.NaN) * 1_000,
      samples: latency?.samples.length ?? 0,
      ...(target === undefined ? {} : { target }),
    };
  });
  results.push(...(await benchBudget(options.redisUrl)));
  log(`gate analysis cache: ${JSON.stringify(gate.cacheStats)}`);
  return results;
}

/**
 * A reservation (one EVALSHA, carrying the previous operation's settlement) and a settlement (local: it rides with
 * the next reservation); measured sequentially, not with tinybench.
 */
async function benchBudget(url: string): Promise<StageResult[]> {
  const redis = createBudgetRedis(url);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  const prefix = `tollgate-bench:budget:${randomBytes(6).toString('hex')}`;
  const budget = createBudget({
    redis,
    failMode: 'closed',
    logger: createLogger({ sink: () => {} }),
    keyPrefix: prefix,
  });
  const policy = { capacity: 1_000_000_000, restoreRate: 1_000_000 };
  const subject = { tenantId: 'bench', credential: 'jwt', principal: 'bench-user' };
  const reserve: number[] = [];
  const settle: number[] = [];
  for (let i = 0; i < 3_200; i += 1) {
    let started = process.hrtime.bigint();
    const result = await budget.reserve(subject, policy, 10);
    const reserved = Number(process.hrtime.bigint() - started) / 1_000;
    if (!result.granted) throw new Error('bench budget refused');
    started = process.hrtime.bigint();
    await budget.settle(result.reservation, 3);
    const settled = Number(process.hrtime.bigint() - started) / 1_000;
    if (i >= 200) {
      reserve.push(reserved);
      settle.push(settled);
    }
  }
  await budget.close();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
  return [
    summary(`budget: reserve round trip to Redis (${new URL(url).host}), with the last settlement`, reserve),
    summary('budget: settle (local; sent with the next reservation)', settle),
  ];
}

function summary(name: string, samples: number[]): StageResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    name,
    median: at(0.5),
    p99: at(0.99),
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    samples: sorted.length,
  };
}

export function formatStageTable(results: readonly StageResult[]): string {
  const lines = [`${'stage'.padEnd(58)} ${'median µs'.padStart(10)} ${'p99 µs'.padStart(10)}  target`];
  for (const r of results) {
    const verdict =
      r.target === undefined
        ? ''
        : `≤ ${r.target} µs ${r.median <= r.target ? 'met' : `MISSED (${(r.median / r.target).toFixed(1)}×)`}`;
    lines.push(`${r.name.padEnd(58)} ${r.median.toFixed(1).padStart(10)} ${r.p99.toFixed(1).padStart(10)}  ${verdict}`);
  }
  return lines.join('\n');
}

/** With `--json`, the results go to stdout as one JSON line (bench/run.ts reads them) and the progress to stderr. */
if (require.main === module) {
  const json = process.argv.includes('--json');
  runStageBenchmarks({
    redisUrl: process.env.REDIS_URL ?? DEFAULT_REDIS_URL,
    log: json ? (line) => console.error(line) : console.log,
  })
    .then((results) => console.log(json ? JSON.stringify(results) : formatStageTable(results)))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
