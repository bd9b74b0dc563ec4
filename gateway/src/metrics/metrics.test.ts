/**
 * The gateway's /metrics against the real test platform (gateway, fixture subgraphs, FerretDB, Redis): after a
 * scripted mix of traffic the counters say exactly what happened, per tenant; made-up tenants add no series; and
 * nothing a caller sent as a credential is ever in the exposition.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runScriptedMix } from '../testing/metrics-traffic';
import { startTestPlatform, type TestPlatform } from '../testing/platform';

const WHO = 'query Who {\n  whoami {\n    tenant\n  }\n}';

/** One sample of the exposition: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`; 0 when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

describe('gateway metrics', () => {
  let platform: TestPlatform;
  let metricsUrl: string;
  const secrets: string[] = [];

  const scrape = async () => {
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const secret of secrets) expect(text).not.toContain(secret);
    return { text, samples: parse(text) };
  };

  beforeAll(async () => {
    platform = await startTestPlatform({
      metrics: { host: '127.0.0.1', port: 0, maxTenants: 100 },
      // Invented tenants below are failed authentications; this test is about labels, not about holding them back.
      authFailures: {
        maxPerAddress: 1_000_000,
        maxPerApiKey: 10,
        windowMs: 60_000,
        holdMs: 60_000,
        trackedClients: 10_000,
      },
    });
    metricsUrl = platform.gateway.metricsUrl ?? '';
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it('is served on its own listener, not on the public port', async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(metricsUrl).port).not.toBe(String(platform.gateway.port));
    expect((await fetch(`${platform.gateway.url}/metrics`)).status).toBe(404);
    expect((await fetch(metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('counts a scripted mix exactly, per tenant, and adds no series for 1,000 invented tenants', async () => {
    const { throttledTenant: throttled, throttledServed: served, secrets: used } = await runScriptedMix(platform);
    secrets.push(...used);

    const { samples } = await scrape();
    const graphqlCount = (tenant: string, status: string) =>
      valueOf(samples, 'http_server_request_duration_seconds_count', {
        http_request_method: 'POST',
        http_route: '/graphql',
        http_response_status_code: status,
        tenant,
      });
    expect({
      acmeOk: graphqlCount('acme', '200'),
      acmeMiss: graphqlCount('acme', '400'),
      globexForbidden: graphqlCount('globex', '403'),
      throttledOk: graphqlCount(throttled, '200'),
      throttled429: graphqlCount(throttled, '429'),
      forbidden: valueOf(samples, 'tollgate_refusals_total', { tenant: 'globex', code: 'FORBIDDEN' }),
      notInList: valueOf(samples, 'tollgate_refusals_total', { tenant: 'acme', code: 'PERSISTED_QUERY_NOT_IN_LIST' }),
      miss: valueOf(samples, 'tollgate_persisted_operation_misses_total', {
        tenant: 'acme',
        code: 'PERSISTED_QUERY_NOT_IN_LIST',
      }),
      rateLimitedRefusals: valueOf(samples, 'tollgate_refusals_total', { tenant: throttled, code: 'RATE_LIMITED' }),
      rateLimited: valueOf(samples, 'tollgate_rate_limited_requests_total', { tenant: throttled }),
      acmeRefusals: samples.filter((s) => s.name === 'tollgate_refusals_total' && s.labels.tenant === 'acme').length,
      // The operation is named only where it came from a list: the partner's; text queries are unknown.
      partnerOperation: valueOf(samples, 'tollgate_operations_total', {
        tenant: 'acme',
        graphql_operation_name: 'Products',
      }),
      acmeUnknown: valueOf(samples, 'tollgate_operations_total', { tenant: 'acme', graphql_operation_name: 'unknown' }),
      whoNamed: valueOf(samples, 'tollgate_operations_total', { tenant: 'acme', graphql_operation_name: 'Who' }),
      acmeOverhead: valueOf(samples, 'tollgate_request_overhead_duration_seconds_count', { tenant: 'acme' }),
      acmeCostActual: valueOf(samples, 'tollgate_query_cost_actual_count', { tenant: 'acme' }),
      throttledRemaining: valueOf(samples, 'tollgate_budget_remaining', { tenant: throttled }),
      active: valueOf(samples, 'http_server_active_requests', {}),
    }).toEqual({
      acmeOk: 4,
      acmeMiss: 1,
      globexForbidden: 1,
      throttledOk: served,
      throttled429: 1,
      forbidden: 1,
      notInList: 1,
      miss: 1,
      rateLimitedRefusals: 1,
      rateLimited: 1,
      acmeRefusals: 1,
      partnerOperation: 1,
      acmeUnknown: 4,
      whoNamed: 0,
      acmeOverhead: 5,
      acmeCostActual: 4,
      throttledRemaining: 0,
      active: 0,
    });
    // Every subgraph the plans fetched from: its fetch durations, and its breaker closed.
    for (const subgraph of ['accounts', 'products']) {
      expect(
        valueOf(samples, 'http_client_request_duration_seconds_count', { subgraph, http_response_status_code: '200' }),
      ).toBeGreaterThan(0);
      expect(valueOf(samples, 'tollgate_subgraph_circuit_state', { subgraph, state: 'closed' })).toBe(1);
      expect(valueOf(samples, 'tollgate_subgraph_circuit_state', { subgraph, state: 'open' })).toBe(0);
    }
    // The gateway's own time is less than the request's: the subgraph wait is taken out.
    const total = valueOf(samples, 'http_server_request_duration_seconds_sum', {
      http_route: '/graphql',
      http_response_status_code: '200',
      tenant: 'acme',
    });
    expect(valueOf(samples, 'tollgate_request_overhead_duration_seconds_sum', { tenant: 'acme' })).toBeLessThan(total);
    const supergraphId = createHash('sha256')
      .update(readFileSync(platform.config.supergraphPath, 'utf8'))
      .digest('hex');
    expect(valueOf(samples, 'tollgate_supergraph_info', { supergraph_id: supergraphId })).toBe(1);
    expect(valueOf(samples, 'tollgate_budget_redis_fallback', {})).toBe(0);
    expect(valueOf(samples, 'tollgate_cache_lookups_total', { cache: 'documents', result: 'hit' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'tollgate_cache_lookups_total', { cache: 'documents', result: 'miss' })).toBeGreaterThan(0);

    // 1,000 requests naming tenants nobody registered: refused, and counted under one label.
    const tenantsBefore = new Set(samples.map((s) => s.labels.tenant).filter((t) => t !== undefined));
    const seriesBefore = samples.length;
    const tokens = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        platform.issuer.sign({ tenant: `ghost-${i}-${randomBytes(3).toString('hex')}` }),
      ),
    );
    const statuses = new Map<number, number>();
    for (let start = 0; start < tokens.length; start += 20) {
      const answers = await Promise.all(
        tokens.slice(start, start + 20).map((token) => platform.graphql({ query: WHO }, { token })),
      );
      for (const { status } of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect([...statuses.keys()].every((status) => status >= 400)).toBe(true);
    // A request is counted when its connection closes, which may come a moment after the client read the answer:
    // scrape until the last ones are in (or 5 s passed), then require the exact count.
    const inventedCount = (scraped: Awaited<ReturnType<typeof scrape>>) =>
      scraped.samples
        .filter((s) => s.name === 'http_server_request_duration_seconds_count' && s.labels.tenant === 'other')
        .reduce((n, s) => n + s.value, 0);
    let after = await scrape();
    for (let waited = 0; inventedCount(after) < 1_000 && waited < 5_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await scrape();
    }
    const newTenants = new Set(
      after.samples.map((s) => s.labels.tenant).filter((t) => t !== undefined && !tenantsBefore.has(t)),
    );
    expect([...newTenants]).toEqual(['other']);
    const invented = after.samples.filter(
      (s) => s.name === 'http_server_request_duration_seconds_count' && s.labels.tenant === 'other',
    );
    expect(invented.reduce((n, s) => n + s.value, 0)).toBe(1_000);
    // One series per metric and status at most, not one per invented tenant: the histogram's buckets included, far
    // fewer than 1,000 new lines.
    expect(after.samples.length - seriesBefore).toBeLessThan(100);
    for (const token of tokens.slice(0, 50)) expect(after.text).not.toContain(token);
  }, 120_000);
});
