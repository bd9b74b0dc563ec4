/**
 * Logs that join the traces (issue 14, acceptance 3): with a tracer provider and a context manager registered before
 * the platform starts — as the tracing setup does, here in the test so that it holds whatever registers the SDK —
 * every request line of a traced request carries the trace id of its trace, checked against the spans exported.
 * Real gateway, real subgraphs over HTTP, FerretDB and Redis.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { startTestPlatform, type TestPlatform } from './testing/platform';

const exporter = new InMemorySpanExporter();
const HEX_TRACE_ID = /^[0-9a-f]{32}$/;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;

const REQUESTS = [
  { query: 'query Who { whoami { tenant principal } }' },
  { query: 'query Stock { products { id name inStock } }' },
  { query: 'query Names { products { id name } }' },
];

async function requestLine(platform: TestPlatform, requestId: string): Promise<Record<string, unknown>> {
  // The line is written when the connection closes, which can come just after the client read the answer.
  for (let attempt = 0; attempt < 200; attempt++) {
    const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === requestId);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no request line for ${requestId}`);
}

describe('request log lines carry the trace id of their trace', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    // register(): the provider, AsyncLocalStorageContextManager and the W3C propagator, as globals.
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('for each of a few requests: its trace id, a span of that trace, its fetches and its client', async () => {
    const traceIds = new Set<string>();
    for (const [index, body] of REQUESTS.entries()) {
      const res = await platform.graphql(body, {
        headers: { 'apollographql-client-name': 'storefront-web', 'apollographql-client-version': `3.2.${index}` },
      });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      const line = await requestLine(platform, res.headers.get('x-request-id')!);

      expect(line.trace_id).toMatch(HEX_TRACE_ID);
      expect(line.span_id).toMatch(HEX_SPAN_ID);
      const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === line.trace_id);
      const names = spans.map((span) => span.name);
      // The trace is this request's: the gateway's request span and one fetch span per subgraph fetch it counted.
      expect(names).toContain('gateway.request');
      expect(names.filter((name) => name === 'gateway.fetch')).toHaveLength(line.subgraphFetches as number);
      expect(line.subgraphFetches).toBeGreaterThan(0);
      expect(spans.map((span) => span.spanContext().spanId)).toContain(line.span_id);
      expect(line).toMatchObject({
        level: 'info',
        status: 200,
        tenant: 'acme',
        credential: 'jwt',
        operationName: body.query.split(' ')[1],
        clientName: 'storefront-web',
        clientVersion: `3.2.${index}`,
        errorCodes: [],
      });
      // Priced and charged: the cost the client was told (extensions.cost) is the cost in the line.
      const cost = res.body.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number };
      expect(cost.requestedQueryCost).toEqual(expect.any(Number));
      expect(line).toMatchObject({ costRequested: cost.requestedQueryCost, costActual: cost.actualQueryCost });
      traceIds.add(line.trace_id as string);
    }
    expect(traceIds.size).toBe(REQUESTS.length);

    // Any other line the gateway wrote inside one of these traces names that trace's spans, never another's.
    const exported = new Set(exporter.getFinishedSpans().map((span) => span.spanContext().traceId));
    for (const line of platform.logs.filter((l) => l.trace_id !== undefined)) {
      expect(exported.has(line.trace_id as string)).toBe(true);
    }
  });

  it('gives a request refused before any span no trace id rather than a made-up one', async () => {
    const res = await platform.graphql(REQUESTS[0]!, { token: null });
    expect(res.status).toBe(401);
    const line = await requestLine(platform, res.headers.get('x-request-id')!);
    expect(line).toMatchObject({ level: 'info', status: 401, errorCodes: ['UNAUTHENTICATED'], subgraphFetches: 0 });
    expect(line).not.toHaveProperty('trace_id');
  });
});
