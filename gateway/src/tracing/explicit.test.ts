/**
 * Tracing without a context manager (TRACE_APOLLO_SPANS off, the default): nothing is registered globally, and every
 * span of a request is parented explicitly through the request context's `traceContext`.
 */
import { EventEmitter } from 'node:events';
import { context, trace } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { Request, Response } from 'express';
import type { GraphQLError } from 'graphql';
import { ErrorCode, gatewayError } from '../errors';
import { attachRequestState, pendAdmission, type OperationRequest, type RequestContext } from '../request';
import { isRecorded, runStageTraced, traceAdmission, traceFetch, traceRequests } from './spans';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
beforeEach(() => exporter.reset());

async function startRequest(
  tracerToUse = tracer,
  headers: Record<string, string> = {},
): Promise<{ res: Response; state: RequestContext }> {
  const req = Object.assign(new EventEmitter(), { method: 'POST', headers }) as unknown as Request;
  const res = Object.assign(new EventEmitter(), { locals: {}, statusCode: 200 }) as unknown as Response;
  const state: RequestContext = { requestId: 'r1', log: { errorCodes: [] } };
  attachRequestState(res, state);
  await new Promise<void>((resolve) =>
    traceRequests({ tracer: tracerToUse, incoming: 'honour' })(req, res, () => resolve()),
  );
  return { res, state };
}

test('no global registration: the API has no tracer and no active span', () => {
  expect(trace.getActiveSpan()).toBeUndefined();
  expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
});

test('stages and fetches are the request span\'s children, and the fetch\'s context goes in "traceparent"', async () => {
  const { res, state } = await startRequest();
  const request = state as OperationRequest;
  await runStageTraced(tracer, 'limits', request, async () => {
    // No context manager: the stage's span is not the active one, and nothing needs it to be.
    expect(context.active()).toBe(context.active());
  });
  const headers: Record<string, string> = {};
  const answer = await traceFetch(tracer, 'products', state, headers, async () => ({ statusCode: 200 }));
  expect(answer.statusCode).toBe(200);
  res.emit('finish');
  const spans = exporter.getFinishedSpans();
  const root = spans.find((span) => span.name === 'POST /graphql')!;
  const stage = spans.find((span) => span.name === 'tollgate.limits')!;
  const fetch = spans.find((span) => span.name === 'tollgate.fetch')!;
  expect(stage.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
  expect(fetch.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
  expect(fetch.attributes).toEqual({ 'tollgate.subgraph': 'products', 'http.response.status_code': 200 });
  expect(headers.traceparent).toBe(`00-${fetch.spanContext().traceId}-${fetch.spanContext().spanId}-01`);
  expect(Object.keys(headers)).toEqual(['traceparent']);
});

test("a fetch that waited on another request's identical fetch says so, and injects nothing", async () => {
  const { res, state } = await startRequest();
  const answer = await traceFetch(tracer, 'products', state, undefined, async () => ({ statusCode: 200 }));
  expect(answer.statusCode).toBe(200);
  res.emit('finish');
  const fetch = exporter.getFinishedSpans().find((span) => span.name === 'tollgate.fetch')!;
  expect(fetch.attributes).toEqual({
    'tollgate.subgraph': 'products',
    'tollgate.fetch.deduplicated': true,
    'http.response.status_code': 200,
  });
});

test("a failed fetch is recorded by the error's name only", async () => {
  const { state } = await startRequest();
  const failure = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:4002'), { name: 'TimeoutError' });
  await expect(traceFetch(tracer, 'products', state, {}, () => Promise.reject(failure))).rejects.toBe(failure);
  const fetch = exporter.getFinishedSpans().find((span) => span.name === 'tollgate.fetch')!;
  expect(fetch.status).toEqual({ code: 2, message: 'TimeoutError' });
  expect(JSON.stringify(fetch.attributes)).not.toContain('10.0.0.7');
});

/** A decision in flight (request.ts, pendAdmission) and the function that settles it. */
function pendingDecision(): { decision: Promise<GraphQLError | undefined>; settle: (refusal?: GraphQLError) => void } {
  let settle!: (refusal?: GraphQLError) => void;
  const decision = new Promise<GraphQLError | undefined>((resolve) => (settle = resolve));
  return { decision, settle };
}

test("the pending admission's span: from the first decision sent to the last one known, under the request span", async () => {
  const { res, state } = await startRequest();
  const request = state as OperationRequest;
  const quota = pendingDecision();
  const budget = pendingDecision();
  pendAdmission(request, 'quota', quota.decision);
  pendAdmission(request, 'cost', budget.decision);
  const sent = performance.now() - 20;
  traceAdmission(tracer, request, sent);
  quota.settle();
  await new Promise((resolve) => setTimeout(resolve, 5));
  // The quota admitted; the budget has not answered yet.
  expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([]);
  budget.settle();
  await request.admission!.decision;
  res.emit('finish');
  const spans = exporter.getFinishedSpans();
  const root = spans.find((span) => span.name === 'POST /graphql')!;
  const admission = spans.find((span) => span.name === 'tollgate.admission')!;
  expect(admission.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
  // The SDK's time origin may differ from performance.timeOrigin by a fraction of a millisecond.
  expect(Math.abs(hrTimeToMilliseconds(admission.startTime) - (performance.timeOrigin + sent))).toBeLessThan(2);
  expect(hrTimeToMilliseconds(admission.duration)).toBeGreaterThanOrEqual(20);
  expect(admission.attributes['tollgate.refusal.code']).toBeUndefined();
  expect(admission.attributes['tollgate.admission.stage']).toBeUndefined();
  expect(admission.status.code).toBe(0);
});

test('a refused admission: its span carries the code and the deciding stage, in stage order', async () => {
  const { state } = await startRequest();
  const request = state as OperationRequest;
  const quota = pendingDecision();
  const budget = pendingDecision();
  pendAdmission(request, 'quota', quota.decision);
  pendAdmission(request, 'cost', budget.decision);
  traceAdmission(tracer, request, performance.now());
  // Both refuse: the quota's refusal stands (it comes first in stage order), whichever answered first.
  budget.settle(gatewayError(ErrorCode.RATE_LIMITED, 'budget'));
  quota.settle(gatewayError(ErrorCode.QUOTA_EXCEEDED, 'quota'));
  await request.admission!.decision;
  await new Promise((resolve) => setImmediate(resolve));
  const admission = exporter.getFinishedSpans().find((span) => span.name === 'tollgate.admission')!;
  expect(admission.attributes).toMatchObject({
    'tollgate.refusal.code': ErrorCode.QUOTA_EXCEEDED,
    'tollgate.admission.stage': 'quota',
  });
  expect(admission.status).toEqual({ code: 2, message: ErrorCode.QUOTA_EXCEEDED });
});

const dropping = new BasicTracerProvider({
  sampler: new AlwaysOffSampler(),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
}).getTracer('test');

test('a request the sampler dropped: no span under it, no traceparent sent', async () => {
  const { res, state } = await startRequest(dropping);
  let ran = false;
  await runStageTraced(dropping, 'limits', state as OperationRequest, () => {
    ran = true;
  });
  const headers: Record<string, string> = {};
  await traceFetch(dropping, 'products', state, headers, async () => ({ statusCode: 200 }));
  res.emit('finish');
  expect(ran).toBe(true);
  expect(headers).toEqual({});
  expect(exporter.getFinishedSpans()).toEqual([]);
});

test("a recorded request notes its request span's ids for the request line", async () => {
  const { res, state } = await startRequest();
  expect(isRecorded(state)).toBe(true);
  res.emit('finish');
  const root = exporter.getFinishedSpans().find((span) => span.name === 'POST /graphql')!;
  expect(state.log).toMatchObject({ traceId: root.spanContext().traceId, spanId: root.spanContext().spanId });
  expect(root.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql' });
});

test('a dropped request runs its stages and fetches unwrapped, and its request line still gets its trace id', async () => {
  const { state } = await startRequest(dropping);
  expect(isRecorded(state)).toBe(false);
  expect(state.traceContext).toBeUndefined();
  expect(state.log.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(state.log.traceId).not.toBe('0'.repeat(32));
  // The stage's own result, not a promise of ours around it; the fetch's own promise.
  const result = { ok: true };
  expect(runStageTraced(dropping, 'limits', state as OperationRequest, () => result)).toBe(result);
  const sent = Promise.resolve({ statusCode: 200 });
  expect(traceFetch(dropping, 'products', state, {}, () => sent)).toBe(sent);
});

test("a dropped request that continues a client's trace notes the client's trace id, and exports nothing", async () => {
  const clientTrace = '0af7651916cd43dd8448eb211c80319c';
  // Not sampled by the client: the default parent-based sampler drops it too.
  const { res, state } = await startRequest(tracer, { traceparent: `00-${clientTrace}-b7ad6b7169203331-00` });
  expect(isRecorded(state)).toBe(false);
  expect(state.log.traceId).toBe(clientTrace);
  const headers: Record<string, string> = {};
  await traceFetch(tracer, 'products', state, headers, async () => ({ statusCode: 200 }));
  res.emit('finish');
  expect(headers).toEqual({});
  expect(exporter.getFinishedSpans()).toEqual([]);
});
