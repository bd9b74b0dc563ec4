import { EventEmitter } from 'node:events';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Request, RequestHandler, Response } from 'express';
import { attachRequestState, type RequestContext } from '../request';
import { requestSpanContext, traceRequests, traceStep } from './spans';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register({ propagator: new W3CTraceContextPropagator() });
const tracer = trace.getTracer('test');

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

function exchange(headers: Record<string, string> = {}) {
  const req = Object.assign(new EventEmitter(), { method: 'POST', headers }) as unknown as Request;
  const res = Object.assign(new EventEmitter(), { locals: {}, statusCode: 200 }) as unknown as Response;
  const state: RequestContext = { requestId: 'r1', log: { errorCodes: [] } };
  attachRequestState(res, state);
  return { req, res, state };
}

function run(handler: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => handler(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
}

test('link: a new trace whose request span links to the client span; its ids are on res.locals', async () => {
  const { req, res } = exchange({ traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` });
  await run(traceRequests({ tracer, incoming: 'link' }), req, res);
  res.emit('finish');
  const [span] = exporter.getFinishedSpans();
  expect(span!.name).toBe('POST /graphql');
  expect(span!.spanContext().traceId).not.toBe(CLIENT_TRACE);
  expect(span!.parentSpanContext).toBeUndefined();
  expect(span!.links.map((link) => link.context.spanId)).toEqual([CLIENT_SPAN]);
  expect(requestSpanContext(res)).toEqual(span!.spanContext());
});

test('the request span ends once, with the refusal code the request was answered with', async () => {
  const { req, res, state } = exchange();
  await run(traceRequests({ tracer, incoming: 'honour' }), req, res);
  state.log.errorCodes.push('UNAUTHENTICATED');
  res.statusCode = 401;
  res.emit('finish');
  res.emit('close');
  const spans = exporter.getFinishedSpans();
  expect(spans).toHaveLength(1);
  expect(spans[0]!.attributes).toMatchObject({
    'tollgate.refusal.code': 'UNAUTHENTICATED',
    'http.response.status_code': 401,
  });
  expect(spans[0]!.status).toEqual({ code: 2, message: 'UNAUTHENTICATED' });
});

test("a step's span is the request span's child, and what follows the step is not the step's child", async () => {
  const { req, res } = exchange();
  let inStep: string | undefined;
  let afterStep: string | undefined;
  const step: RequestHandler = (_req, _res, next) => {
    inStep = trace.getActiveSpan()?.spanContext().spanId;
    setImmediate(next);
  };
  await run(traceRequests({ tracer, incoming: 'honour' }), req, res);
  const requestSpanId = requestSpanContext(res)!.spanId;
  await new Promise<void>((resolve) =>
    context.with(trace.setSpan(context.active(), trace.wrapSpanContext(requestSpanContext(res)!)), () =>
      traceStep(tracer, 'tollgate.authenticate', step)(req, res, () => {
        afterStep = trace.getActiveSpan()?.spanContext().spanId;
        resolve();
      }),
    ),
  );
  res.emit('finish');
  const stepSpan = exporter.getFinishedSpans().find((span) => span.name === 'tollgate.authenticate')!;
  expect(stepSpan.parentSpanContext?.spanId).toBe(requestSpanId);
  expect(inStep).toBe(stepSpan.spanContext().spanId);
  expect(afterStep).toBe(requestSpanId);
});

test("with a context manager, a dropped request's rest still runs in its request span's context (Apollo's spans are dropped with it)", async () => {
  const dropping = new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('test');
  const { req, res, state } = exchange();
  let active: ReturnType<typeof trace.getActiveSpan>;
  let apolloRecorded: boolean | undefined;
  await run(
    (request, response, next) =>
      traceRequests({ tracer: dropping, incoming: 'honour' })(request, response, () => {
        active = trace.getActiveSpan();
        // Apollo's span (the globally registered, recording provider's) under it is dropped too, rather than
        // starting a trace of its own.
        apolloRecorded = trace.getTracer('apollo').startSpan('gateway.request').isRecording();
        next();
      }),
    req,
    res,
  );
  expect(active!.isRecording()).toBe(false);
  expect(active!.spanContext()).toEqual(requestSpanContext(res));
  expect(apolloRecorded).toBe(false);
  expect(state.traceContext).toBeUndefined();
});
