/**
 * Issue 14, acceptance 1: with tracing on, the README's query as acme's admin yields one trace — the gateway's
 * request span, a span per Tollgate stage, Apollo's gateway spans with one fetch span per subgraph call, each
 * subgraph's server span as the child of its fetch, and MongoDB command spans below those — exported over OTLP/HTTP
 * to a receiver in this process; `tenant=acme` where a span concerns a tenant; and no attribute of any span holds
 * the token, an API key, a filter value or an e-mail address.
 *
 * The real platform (test/e2e/platform.ts): the four subgraphs on FerretDB, Redis, the gateway, real HTTP.
 */
import { containsCredential } from '../common/secret-shapes';
import { userIdFor } from '../common/ids';
import { startTracing, type Tracing } from '../common/tracing/setup';
import {
  otlpExporterForJest,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../gateway/src/testing/otlp-receiver';
import { createLogger } from '../common/logger';
import { startRealPlatform, type RealPlatform } from './e2e/platform';

const README_QUERY =
  '{ me { name } products(first: 3) { edges { node { name inStock reviews(first: 2) { edges { node { rating author { name } } } } } } } }';

/** Stages the request passes with the README's query (server.ts lists them), plus the account stage's settlement. */
const STAGE_SPANS = [
  'tollgate.authenticate',
  'tollgate.persisted',
  'tollgate.operation-kind',
  'tollgate.introspection',
  'tollgate.limits',
  'tollgate.authorize',
  'tollgate.account',
  'tollgate.cost',
  'tollgate.references',
  'tollgate.account.after',
];

let receiver: OtlpReceiver;
let tracing: Tracing;
let platform: RealPlatform;
/** Every line the gateway's logger wrote, parsed (acceptance 3: request lines carry their trace's id). */
const gatewayLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = startTracing(
    {
      exporter: 'otlp',
      endpoint: receiver.url,
      serviceName: 'tollgate-test',
      sampler: 'parentbased_always_on',
      ratio: 1,
      incoming: 'honour',
      apolloSpans: true,
    },
    // Global: the subgraphs in this process need the context manager (kit/tracing.ts), and with it @apollo/gateway's
    // spans are recorded too — the trace below is TRACE_APOLLO_SPANS=true's; without it the same trace has no
    // `gateway.*` spans and each `tollgate.fetch` is the request span's child (gateway/src/tracing/explicit.test.ts).
    { exporter: otlpExporterForJest(receiver.url), global: true },
  );
  const logger = createLogger({ level: 'debug', sink: (line) => gatewayLines.push(JSON.parse(line)) });
  platform = await startRealPlatform({ tracing, logger });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await tracing?.shutdown();
  await receiver?.close();
});

/** Flushes until the span named `root` has arrived (the request span ends when the answer is written). */
async function spansOfRequest(root: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await tracing.forceFlush();
    if (receiver.spans().some(root)) return receiver.spans();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the request span never arrived');
}

const isRequestSpan = (span: ReceivedSpan) =>
  span.name === 'POST /graphql' &&
  span.attributes['http.route'] === '/graphql' &&
  span.kind === 2 &&
  span.attributes['tollgate.subgraph'] === undefined;

function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((span) => span.parentSpanId === parent.spanId && span.traceId === parent.traceId);
}

function descendantsOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const child of childrenOf(spans, parent)) out.push(child, ...descendantsOf(spans, child));
  return out;
}

test('the README query as acme admin: one trace from the request span down to MongoDB commands', async () => {
  const token = await platform.token('acme', 'admin');
  // Whatever startup exported (nothing is expected: no request was traced) is not this request's.
  await tracing.forceFlush();
  receiver.clear();

  const result = await platform.graphql(token, README_QUERY);
  expect(result.status).toBe(200);
  expect(result.body.errors).toBeUndefined();
  const spans = await spansOfRequest(isRequestSpan);

  // One trace, one root: the request span.
  const traceIds = new Set(spans.map((span) => span.traceId));
  expect(traceIds.size).toBe(1);
  const roots = spans.filter((span) => span.parentSpanId === undefined);
  expect(roots).toHaveLength(1);
  const root = roots[0]!;
  expect(isRequestSpan(root)).toBe(true);
  expect(root.attributes).toMatchObject({
    tenant: 'acme',
    'tollgate.plan': 'enterprise',
    'tollgate.credential.kind': 'jwt',
    'graphql.operation.type': 'query',
    'http.response.status_code': 200,
  });
  expect(root.attributes['graphql.document.hash']).toMatch(/^[0-9a-f]{64}$/);

  // Each stage: a child of the request span, about acme, not refused.
  const rootChildren = childrenOf(spans, root);
  for (const name of STAGE_SPANS) {
    const stage = rootChildren.filter((span) => span.name === name);
    expect({ name, count: stage.length }).toEqual({ name, count: 1 });
    expect(stage[0]!.attributes.tenant).toBe('acme');
    expect(stage[0]!.attributes['tollgate.refusal.code']).toBeUndefined();
  }
  const cost = rootChildren.find((span) => span.name === 'tollgate.cost')!;
  expect(cost.attributes['tollgate.cost.requested']).toEqual(expect.any(Number));
  const settled = rootChildren.find((span) => span.name === 'tollgate.account.after')!;
  expect(settled.attributes['tollgate.cost.actual']).toEqual(expect.any(Number));
  // The budget's reservation in Redis, in flight while the gateway plans: one span from the stage that sent it to
  // the answer, admitted.
  const admission = rootChildren.filter((span) => span.name === 'tollgate.admission');
  expect(admission).toHaveLength(1);
  expect(admission[0]!.attributes).toMatchObject({ tenant: 'acme', 'tollgate.cost.requested': expect.any(Number) });
  expect(admission[0]!.attributes['tollgate.refusal.code']).toBeUndefined();

  // Apollo's spans under the request span, and one fetch span per subgraph call.
  const apolloRequest = rootChildren.filter((span) => span.name === 'gateway.request');
  expect(apolloRequest).toHaveLength(1);
  const below = descendantsOf(spans, apolloRequest[0]!);
  expect(below.some((span) => span.name === 'gateway.plan')).toBe(true);
  expect(below.some((span) => span.name === 'gateway.execute')).toBe(true);
  const fetches = below.filter((span) => span.name === 'gateway.fetch');
  // me (accounts); products; inStock (inventory); reviews; authors (accounts).
  expect(fetches.length).toBeGreaterThanOrEqual(5);
  const fetchedServices = new Set(fetches.map((span) => span.attributes.service));
  expect([...fetchedServices].sort()).toEqual(['accounts', 'inventory', 'products', 'reviews']);

  // Each of Apollo's fetches has exactly one `tollgate.fetch` (the data source's client span) as its child, and that
  // exactly one subgraph server span, of the subgraph it fetched, about acme — with the MongoDB commands that
  // subgraph sent below it.
  const clientSpans = spans.filter((span) => span.name === 'tollgate.fetch');
  const serverSpans = spans.filter((span) => span.attributes['tollgate.subgraph'] !== undefined && span.kind === 2);
  expect(clientSpans).toHaveLength(fetches.length);
  expect(serverSpans).toHaveLength(fetches.length);
  for (const fetch of fetches) {
    const sent = childrenOf(spans, fetch).filter((span) => span.name === 'tollgate.fetch');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.kind).toBe(3);
    expect(sent[0]!.attributes).toEqual({
      'tollgate.subgraph': fetch.attributes.service,
      'http.response.status_code': 200,
    });
    const servers = childrenOf(spans, sent[0]!);
    expect(servers).toHaveLength(1);
    const server = servers[0]!;
    expect(server.kind).toBe(2);
    expect(server.attributes).toMatchObject({
      'tollgate.subgraph': fetch.attributes.service,
      tenant: 'acme',
      'http.response.status_code': 200,
    });
    const commands = descendantsOf(spans, server).filter((span) => span.attributes['db.system'] === 'mongodb');
    expect(commands.length).toBeGreaterThanOrEqual(1);
    for (const command of commands) {
      expect(command.kind).toBe(3);
      expect(command.attributes['db.namespace']).toMatch(new RegExp(`_${String(fetch.attributes.service)}$`));
      expect(command.attributes['db.name']).toBe(command.attributes['db.namespace']);
      expect(command.attributes['db.operation.name']).toEqual(expect.any(String));
      expect(command.attributes['db.collection.name']).toEqual(expect.any(String));
      // Only the names: no filter, no document.
      expect(Object.keys(command.attributes).sort()).toEqual(
        ['db.collection.name', 'db.name', 'db.namespace', 'db.operation.name', 'db.system', 'db.system.name'].sort(),
      );
    }
  }
  // Every MongoDB command span of the trace sits under a subgraph server span.
  const allCommands = spans.filter((span) => span.attributes['db.system'] === 'mongodb');
  const underServers = new Set(serverSpans.flatMap((server) => descendantsOf(spans, server)).map((s) => s.spanId));
  expect(allCommands.every((span) => underServers.has(span.spanId))).toBe(true);

  // Any span that names a tenant names acme.
  for (const span of spans) {
    if (span.attributes.tenant !== undefined) expect(span.attributes.tenant).toBe('acme');
  }

  // No secret, filter value or e-mail anywhere in any attribute (or link, or status message).
  const adminId = userIdFor('acme', 'admin@acme.test');
  for (const span of spans) {
    const values = [...Object.values(span.attributes).flat(), span.statusMessage ?? ''].map(String);
    for (const value of values) {
      expect({ span: span.name, value, jwt: value.includes(token) || value.includes(token.split('.')[1]!) }).toEqual({
        span: span.name,
        value,
        jwt: false,
      });
      expect(containsCredential(value)).toBe(false);
      expect(value).not.toMatch(/[^\s@]+@[^\s@]+\.[a-z]{2,}/i);
      // The caller's user id is what `me` filters on; product and review ids are 24-hex ObjectIds.
      expect(value).not.toContain(adminId);
      expect(value).not.toMatch(/\b[0-9a-f]{24}\b/);
    }
  }
}, 60_000);

test("a client's traceparent is honoured by default: the request span continues the client's trace", async () => {
  const token = await platform.token('acme', 'admin');
  await tracing.forceFlush();
  receiver.clear();
  const clientTrace = '0af7651916cd43dd8448eb211c80319c';
  const clientSpan = 'b7ad6b7169203331';
  const res = await fetch(`${platform.gateway.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      traceparent: `00-${clientTrace}-${clientSpan}-01`,
      // Baggage is never read: it cannot name a tenant on a span.
      baggage: 'tenant=globex',
      'apollographql-client-name': 'storefront',
      'apollographql-client-version': '1.2.3',
    },
    body: JSON.stringify({ query: '{ me { name } }' }),
  });
  expect(res.status).toBe(200);
  const spans = await spansOfRequest(isRequestSpan);
  const root = spans.find(isRequestSpan)!;
  expect(root.traceId).toBe(clientTrace);
  expect(root.parentSpanId).toBe(clientSpan);
  expect(root.attributes).toMatchObject({
    tenant: 'acme',
    'tollgate.client.name': 'storefront',
    'tollgate.client.version': '1.2.3',
  });
  expect(spans.every((span) => span.traceId === clientTrace)).toBe(true);
  expect(
    spans.filter((span) => span.attributes.tenant !== undefined).every((s) => s.attributes.tenant === 'acme'),
  ).toBe(true);
}, 60_000);

test('a refusal is recorded with its code on the request span and on the stage that refused', async () => {
  await tracing.forceFlush();
  receiver.clear();
  const res = await fetch(`${platform.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' },
    body: JSON.stringify({ query: '{ me { name } }' }),
  });
  expect(res.status).toBe(401);
  const spans = await spansOfRequest(isRequestSpan);
  const root = spans.find(isRequestSpan)!;
  expect(root.attributes['tollgate.refusal.code']).toBe('UNAUTHENTICATED');
  expect(root.statusCode).toBe(2);
  const authenticate = childrenOf(spans, root).find((span) => span.name === 'tollgate.authenticate')!;
  expect(authenticate.attributes['tollgate.refusal.code']).toBe('UNAUTHENTICATED');
  expect(authenticate.attributes.tenant).toBeUndefined();
  for (const span of spans) {
    for (const value of Object.values(span.attributes).flat().map(String))
      expect(containsCredential(value)).toBe(false);
  }
}, 60_000);

test("every request line carries its request span's trace id, refused requests too", async () => {
  const token = await platform.token('acme', 'admin');
  const requests = [
    { id: 'trace-line-served-0001', authorization: `Bearer ${token}`, query: README_QUERY },
    { id: 'trace-line-refused-0002', authorization: 'Bearer not-a-token', query: '{ me { name } }' },
    { id: 'trace-line-invalid-0003', authorization: `Bearer ${token}`, query: '{ nope }' },
  ];
  for (const { id, authorization, query } of requests) {
    const res = await fetch(`${platform.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization, 'x-request-id': id },
      body: JSON.stringify({ query }),
    });
    await res.text();
  }
  for (const { id } of requests) {
    const root = (
      await spansOfRequest((span) => isRequestSpan(span) && span.attributes['tollgate.request.id'] === id)
    ).find((span) => isRequestSpan(span) && span.attributes['tollgate.request.id'] === id);
    let line: Record<string, unknown> | undefined;
    for (let attempt = 0; attempt < 50 && !line; attempt++) {
      line = gatewayLines.find((l) => l.msg === 'request' && l.requestId === id);
      if (!line) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(line).toBeDefined();
    expect(line!.trace_id).toMatch(/^[0-9a-f]{32}$/);
    if (root) expect(line!.trace_id).toBe(root.traceId);
    else throw new Error(`no request span carries request id ${id}`);
  }
});
