/**
 * What metrics cost the gateway: the per-request recording (metrics/gateway-metrics.ts, called once per request by
 * the request log, plus one observation per subgraph fetch) and one scrape with many tenants' series, measured with
 * tinybench on the functions themselves — a figure that a loaded shared machine does not drown, unlike an
 * end-to-end A/B. Compare with the gateway's CPU per request in the README's Performance section (milliseconds).
 *
 *   npx tsx bench/metrics.ts
 */
import { Bench } from 'tinybench';
import { createGatewayMetrics } from '../gateway/src/metrics/gateway-metrics';
import type { RequestContext } from '../gateway/src/request';
import type { TenantRecord } from '../gateway/src/tenants/tenant';

const metrics = createGatewayMetrics({
  maxTenants: 100,
  supergraphId: () => 'a'.repeat(64),
  caches: () => [{ name: 'documents', entries: 10, bytes: 1000, maxBytes: 10_000, hits: 5, misses: 1 }],
  budget: () => ({
    backend: 'redis',
    outages: 0,
    recoveries: 0,
    redisFailures: 0,
    fallbackDecisions: 0,
    lostSettlements: 0,
  }),
  breakerStates: () => ({ accounts: 'closed', products: 'closed', inventory: 'closed', reviews: 'closed' }),
});

const tenants = Array.from({ length: 100 }, (_, i) => ({ id: `tenant-${i}` }) as TenantRecord);
let n = 0;
/** A request as the stages leave it: a tenant, a priced and charged operation, four fetches' wait. */
function servedRequest(): RequestContext {
  const tenant = tenants[n++ % tenants.length]!;
  return {
    requestId: 'r',
    tenant,
    log: {
      tenantId: tenant.id,
      operationName: 'Products',
      operationListed: true,
      errorCodes: [],
      executed: true,
      requestedCost: 12,
      actualCost: 9,
      budgetAvailable: 900,
      subgraphWaitMs: 3.2,
    },
  };
}
function refusedRequest(): RequestContext {
  const tenant = tenants[n++ % tenants.length]!;
  return { requestId: 'r', tenant, log: { tenantId: tenant.id, errorCodes: ['FORBIDDEN'] } };
}

async function main(): Promise<void> {
  // Every tenant's series exist before timing: the steady state, not the first request of each.
  for (let i = 0; i < 200; i += 1) {
    metrics.requestStarted();
    metrics.requestEnded(servedRequest(), 'POST', '/graphql', 200, 0.01);
    metrics.requestStarted();
    metrics.requestEnded(refusedRequest(), 'POST', '/graphql', 403, 0.002);
  }
  const fetches = ['accounts', 'products', 'inventory', 'reviews'].map((subgraph) => metrics.fetches.of(subgraph));
  const served = servedRequest();
  const refused = refusedRequest();
  const bench = new Bench({ time: 1_000 });
  bench
    .add('served request: recording + 4 fetch observations', () => {
      metrics.requestStarted();
      for (const fetch of fetches) fetch.observe(200, 0.003);
      metrics.requestEnded(served, 'POST', '/graphql', 200, 0.01);
    })
    .add('refused request: recording', () => {
      metrics.requestStarted();
      metrics.requestEnded(refused, 'POST', '/graphql', 403, 0.002);
    })
    .add('one scrape, 100 tenants', async () => {
      await metrics.registry.metrics();
    });
  await bench.run();
  for (const task of bench.tasks) {
    const result = task.result;
    if (!result) continue;
    console.log(
      `${task.name.padEnd(52)} median ${(result.latency.p50! * 1000).toFixed(2)} µs   p99 ${(result.latency.p99! * 1000).toFixed(2)} µs`,
    );
  }
}

void main();
