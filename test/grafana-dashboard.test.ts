/**
 * The Grafana dashboard (deploy/grafana/tollgate-dashboard.json) asks only for what Tollgate exports: every PromQL
 * expression's metrics and labels are looked up in a real scrape of a gateway (the test platform, after the scripted
 * mix of metrics-traffic.ts) and of a real subgraph (products, on FerretDB) — so a renamed metric or label fails
 * here, not on an operator's empty panel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Types } from 'mongoose';
import { runScriptedMix } from '../gateway/src/testing/metrics-traffic';
import { startTestPlatform, type TestPlatform } from '../gateway/src/testing/platform';
import { products } from '../subgraphs/products/index';
import { entitiesQuery, startTestSubgraph, userCaller, type TestSubgraph } from '../subgraphs/kit/testing';

const DASHBOARD = join(__dirname, '../deploy/grafana/tollgate-dashboard.json');

interface Dashboard {
  panels: { title: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; type: string; query?: string }[] };
}

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'topk',
  'bottomk',
  'label_values',
]);
const GROUPING = /\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g;

/** The metric names and label names one expression refers to. */
function references(expr: string): { metrics: Set<string>; labels: Set<string> } {
  const labels = new Set<string>();
  for (const [, body] of expr.matchAll(/\{([^}]*)\}/g))
    for (const [, name] of body!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) labels.add(name!);
  for (const [, list] of expr.matchAll(GROUPING))
    for (const name of list!.split(',')) if (name.trim()) labels.add(name.trim());
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(GROUPING, '');
  const metrics = new Set<string>();
  for (const [name] of bare.matchAll(/[a-zA-Z_:][\w:]*/g)) if (!PROMQL_WORDS.has(name)) metrics.add(name);
  return { metrics, labels };
}

/** Series names in an exposition, each with the label names its samples carry. */
function exported(text: string, into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!match) continue;
    const labels = into.get(match[1]!) ?? new Set<string>();
    for (const [, name] of (match[2] ?? '').matchAll(/(\w+)="/g)) labels.add(name!);
    into.set(match[1]!, labels);
  }
  return into;
}

/** What an expression asks for that the exposition does not have. */
function problems(expr: string, series: Map<string, Set<string>>): string[] {
  const { metrics, labels } = references(expr);
  const found: string[] = [];
  if (metrics.size === 0) found.push(`${expr}: names no metric`);
  const available = new Set<string>();
  for (const metric of metrics) {
    const labelsOf = series.get(metric);
    if (!labelsOf) found.push(`${expr}: metric ${metric} is not exported`);
    for (const label of labelsOf ?? []) available.add(label);
  }
  for (const label of labels)
    if (!available.has(label)) found.push(`${expr}: label ${label} is not on ${[...metrics].join(', ')}`);
  return found;
}

describe('the Grafana dashboard', () => {
  let platform: TestPlatform;
  let subgraph: TestSubgraph;
  let series: Map<string, Set<string>>;
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

  beforeAll(async () => {
    platform = await startTestPlatform({ metrics: { host: '127.0.0.1', port: 0, maxTenants: 100 } });
    await runScriptedMix(platform, { withOperationError: true });
    subgraph = await startTestSubgraph(products, { metrics: true });
    const staff = userCaller('acme', 'staff@acme.test', ['staff']);
    const created = await subgraph.request(
      'mutation { createProduct(input: { sku: "DASH-1", name: "Dash", price: 1, weight: 1 }) { id } }',
      { as: staff },
    );
    const id = (created.body.data?.createProduct as { id: string }).id;
    const representations = [id, new Types.ObjectId().toHexString()].map((key) => ({ __typename: 'Product', id: key }));
    await subgraph.request(entitiesQuery('... on Product { id }'), { as: staff, variables: { representations } });
    series = exported(await (await fetch(platform.gateway.metricsUrl ?? '')).text());
    exported(await (await fetch(subgraph.metricsUrl ?? '')).text(), series);
  }, 120_000);

  afterAll(async () => {
    await subgraph?.close();
    await platform?.stop();
  });

  it('has panels for tenants, refusals, latency, cost, throttling, subgraphs and the gateway overhead', () => {
    const exprs = dashboard.panels.flatMap((panel) => panel.targets?.map((t) => t.expr) ?? []).join('\n');
    for (const metric of [
      'http_server_request_duration_seconds_count',
      'tollgate_refusals_total',
      'http_server_request_duration_seconds_bucket',
      'tollgate_query_cost_actual_sum',
      'tollgate_rate_limited_requests_total',
      'http_client_request_duration_seconds_bucket',
      'tollgate_request_overhead_duration_seconds_bucket',
      'db_client_operation_duration_seconds_bucket',
    ]) {
      expect(exprs).toContain(metric);
    }
    expect(exprs).toContain('by (tenant)');
  });

  it('asks only for metrics and labels the gateway and the subgraphs export', () => {
    const exprs = dashboard.panels.flatMap((panel) => panel.targets?.map((t) => t.expr) ?? []);
    expect(exprs.length).toBeGreaterThanOrEqual(15);
    expect(exprs.flatMap((expr) => problems(expr, series))).toEqual([]);
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const [, metric, label] = /^label_values\((\w+),\s*(\w+)\)$/.exec(variable.query ?? '') ?? [];
      expect(series.get(metric ?? '')?.has(label ?? '')).toBe(true);
    }
  });

  it('would catch a misspelled metric or label', () => {
    expect(problems('sum by (tenant) (rate(tollgate_refusal_total[5m]))', series)).toEqual([
      'sum by (tenant) (rate(tollgate_refusal_total[5m])): metric tollgate_refusal_total is not exported',
      'sum by (tenant) (rate(tollgate_refusal_total[5m])): label tenant is not on tollgate_refusal_total',
    ]);
    expect(problems('sum by (code) (rate(tollgate_refusals_total{tennant="acme"}[5m]))', series)).toEqual([
      'sum by (code) (rate(tollgate_refusals_total{tennant="acme"}[5m])): label tennant is not on tollgate_refusals_total',
    ]);
  });
});
