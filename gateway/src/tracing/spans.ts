/**
 * The gateway's spans: the request span (the root of a request's trace, or a child of the client's `traceparent`
 * as the policy says), the HTTP layer's steps (authenticate, persisted operation), and the operation stages and
 * their after-hooks (pipeline/index.ts calls `runStageTraced`). Every function here is reached only when a tracer
 * was given — tracing off means one `if (tracer)` per request, where the wiring is built, and nothing else.
 *
 * Parents are explicit: the request span's context is kept on the request context (`traceContext`, request.ts),
 * and every span of the request is started under it — no context manager is needed (common/tracing/setup.ts
 * registers one only for TRACE_APOLLO_SPANS). A request the sampler dropped gets no further span at all: its
 * steps, stages and fetches run as if tracing were off — no context object, no attribute, no wrapper — and only its
 * request line carries its trace id (`isRecorded` lets callers skip the wrappers themselves).
 *
 * Each span ends with the attributes the request context holds at that moment (attributes.ts), so a stage's span
 * says what the stage learned (the cost stage's requested cost, the account hook's actual cost).
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  createContextKey,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Request, RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { IncomingTracePolicy } from '../../../common/tracing/settings';
import {
  requestStateOf,
  type AfterHook,
  type OperationRequest,
  type RequestContext,
  type RequestStateCarrier,
} from '../request';
import { Attr, clientAttributes, errorCode, recordRefusal, requestAttributes } from './attributes';
import { requestSpanParent } from './incoming';

export interface RequestTracingOptions {
  tracer: Tracer;
  /** TRACE_INCOMING_CONTEXT: what a client's `traceparent` does (tracing/incoming.ts). */
  incoming: IncomingTracePolicy;
}

/** The codes the request was answered with, from the first one noted after `from` (request.ts, `log.errorCodes`). */
function codeSince(state: RequestContext | undefined, from: number): string | undefined {
  return state?.log.errorCodes[from];
}

const REQUEST_SPAN = 'tollgateRequestSpan';

/**
 * The request span's ids, for code that runs outside its context — the request's log line is written from a
 * `finish` listener registered before the span existed, so the active span there is not the request's. Kept on
 * `res.locals` beside the request context (request.ts); undefined when tracing is off.
 */
export function requestSpanContext(res: RequestStateCarrier): SpanContext | undefined {
  return (res.locals[REQUEST_SPAN] as Span | undefined)?.spanContext();
}

/**
 * The request span: starts before anything else of `/graphql` and ends when the answer is sent (or the client went
 * away). Tollgate's spans of the request are its children through the request context (`traceContext`); with a
 * context manager, everything after it also runs in its context, so Apollo's spans are its descendants.
 */
export function traceRequests(options: RequestTracingOptions): RequestHandler {
  const { tracer, incoming } = options;
  // With a context manager (TRACE_APOLLO_SPANS: common/tracing/setup.ts registers one), the rest of each request runs
  // in its request span's context, so that Apollo's spans are its descendants — a dropped request's too, so that they
  // are dropped with it. Without one (the default) binding is a no-op, and is not done.
  const activeContext = contextManagerRegistered();
  return (req: Request, res: Response, next) => {
    const { parent, links } = requestSpanParent(incoming, req.headers);
    const span = tracer.startSpan(
      req.method === 'POST' ? 'POST /graphql' : `${req.method} /graphql`,
      links ? { kind: SpanKind.SERVER, links } : SERVER_SPAN,
      parent,
    );
    res.locals[REQUEST_SPAN] = span;
    const state = requestStateOf(res);
    const recording = span.isRecording();
    // The request line (http/guards.ts) is written after the span ended and outside its context: it carries the
    // request span's ids, noted here, whatever an earlier span (Apollo's, a client's) left there. A dropped request
    // notes them too (its trace flags say it was not sampled), as OpenTelemetry's log correlation does: the id joins
    // the line to a client's trace it continues, and to whatever else logged that trace id, for under a microsecond.
    if (state) {
      const { traceId, spanId } = span.spanContext();
      state.log.traceId = traceId;
      state.log.spanId = spanId;
    }
    if (!recording && !activeContext) return next();
    const active = trace.setSpan(parent, span);
    // Set for recorded requests only: every later step, stage and fetch finds nothing there and makes no span.
    if (recording && state) state.traceContext = active;
    // A request the sampler dropped builds no attribute and waits for no event.
    if (recording) {
      // Set after the sampling decision rather than given to startSpan: no sampler of ours reads them (settings.ts),
      // and a dropped request then builds none.
      span.setAttributes(SERVER_ATTRIBUTES[req.method] ?? serverAttributes(req.method));
      span.setAttributes(clientAttributes(req.headers));
      // The request id joins the span to the request's log lines and to the client's `x-request-id`.
      if (state) span.setAttribute('tollgate.request.id', state.requestId);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        if (state) span.setAttributes(requestAttributes(state));
        span.setAttribute('http.response.status_code', res.statusCode);
        const code = codeSince(state, 0);
        if (code) recordRefusal(span, code);
        span.end();
      };
      res.once('finish', end);
      res.once('close', end);
    }
    if (!activeContext) return next();
    // The body is read from the socket's events, which run in the socket's context: bound, their listeners
    // (express.json's) run in the span's context and so does everything after them.
    context.bind(active, req);
    context.bind(active, res);
    context.with(active, next);
  };
}

const SERVER_SPAN = { kind: SpanKind.SERVER } as const;

const PROBE = createContextKey('tollgate.context-manager-probe');

/** Whether a context manager is registered behind the API: the no-op one runs `with`'s callback in the root context. */
function contextManagerRegistered(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE, true);
  return context.with(probe, () => context.active() === probe);
}

function serverAttributes(method: string): Attributes {
  return { 'http.request.method': method, 'http.route': '/graphql', 'url.path': '/graphql' };
}

/** The request span's HTTP attributes for the methods /graphql answers; frozen, as the SDK copies what it is given. */
const SERVER_ATTRIBUTES: Readonly<Record<string, Attributes>> = {
  GET: Object.freeze(serverAttributes('GET')),
  POST: Object.freeze(serverAttributes('POST')),
};

/**
 * Whether the request is recorded (sampled, and its request span not ended): callers that would wrap work in a span
 * ask first and, when not, run the work as they would with tracing off.
 */
export function isRecorded(state: Pick<RequestContext, 'traceContext'> | undefined): boolean {
  return recordingContext(state) !== undefined;
}

/**
 * One HTTP-layer step (`step`) inside a span of its own. The step's own work runs in the span's context; the rest of
 * the route (`next`) in the context the step was entered in, so later spans are the request span's children and
 * not this step's. A step that answers the request itself (a refusal) ends its span when the answer is sent.
 */
export function traceStep(tracer: Tracer, name: string, step: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const outer = recordingContext(requestStateOf(res));
    if (!outer) return step(req, res, next);
    const span = tracer.startSpan(name, undefined, outer);
    const from = requestStateOf(res)?.log.errorCodes.length ?? 0;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      res.off('close', end);
      finishSpan(span, requestStateOf(res), codeSince(requestStateOf(res), from));
    };
    res.once('close', end);
    context.with(trace.setSpan(outer, span), () =>
      step(req, res, (error?: unknown) => {
        end();
        context.with(outer, () => next(error));
      }),
    );
  };
}

/** The request span's context when the request is being recorded (sampled); otherwise no span is made under it. */
function recordingContext(state: Pick<RequestContext, 'traceContext'> | undefined): Context | undefined {
  const parent = state?.traceContext;
  return parent && trace.getSpan(parent)?.isRecording() ? parent : undefined;
}

function finishSpan(span: Span, state: RequestContext | undefined, code: string | undefined): void {
  if (state) span.setAttributes(requestAttributes(state));
  if (code) recordRefusal(span, code);
  span.end();
}

/**
 * A pipeline stage's `run`, in a span named `tollgate.<stage>`; a refusal's code is recorded on it. A request not
 * recorded gets `run()`'s own result, with no promise of ours around it.
 */
export function runStageTraced<T>(
  tracer: Tracer,
  name: string,
  request: OperationRequest,
  run: () => T | Promise<T>,
  /** Whether the request's `refusal` (request.ts, `refuse`) is this span's: not for after-hooks, which run after it. */
  ownsRefusal = true,
): T | Promise<T> {
  const parent = recordingContext(request);
  if (!parent) return run();
  return runInSpan(tracer, name, request, parent, run, ownsRefusal);
}

async function runInSpan<T>(
  tracer: Tracer,
  name: string,
  request: OperationRequest,
  parent: Context,
  run: () => T | Promise<T>,
  ownsRefusal: boolean,
): Promise<T> {
  const span = tracer.startSpan(`tollgate.${name}`, undefined, parent);
  let code: string | undefined;
  try {
    return await context.with(trace.setSpan(parent, span), run);
  } catch (error) {
    code = errorCode(error);
    throw error;
  } finally {
    const refusal = ownsRefusal ? request.refusal : undefined;
    finishSpan(span, request, code ?? (refusal instanceof GraphQLError ? errorCode(refusal) : undefined));
  }
}

/**
 * The request's pending admission (request.ts, `PendingAdmission`: the quota's read and the budget's reservation in
 * Redis) in a span `tollgate.admission`, from `startTime` (a `performance.now()` reading: when the first stage left
 * its decision in flight) to when the decision is known. The stages' own spans end before their round trips do, and
 * the round trips overlap planning: this span is where a slow Redis shows. Refused, it carries the refusal's code and
 * the deciding stage (`tollgate.admission.stage`).
 */
export function traceAdmission(tracer: Tracer, request: OperationRequest, startTime: number): void {
  const parent = recordingContext(request);
  const admission = request.admission;
  if (!parent || !admission) return;
  const span = tracer.startSpan('tollgate.admission', { startTime }, parent);
  // The decision never rejects (request.ts).
  void admission.decision.then((refusal) => {
    if (refusal) span.setAttribute(Attr.ADMISSION_STAGE, admission.stage);
    finishSpan(span, request, refusal ? errorCode(refusal) : undefined);
  });
}

/** A stage's after-hook in a span named `tollgate.<stage>.after` (the account stage's settlement, say). */
export function traceAfterHook(tracer: Tracer, name: string, hook: AfterHook): AfterHook {
  return (request, response) =>
    runStageTraced<void>(tracer, `${name}.after`, request, () => hook(request, response), false);
}

/**
 * The operation's name, type and hash onto the request span — called by the runner once they are known. Apollo
 * Server's context value is a copy of the request context (request.ts), so the request span, which ends with the
 * HTTP layer's copy, would not see them otherwise. The request span is the active one in Apollo's hooks.
 */
export function annotateRequestSpan(request: OperationRequest): void {
  const parent = recordingContext(request);
  if (parent) trace.getSpan(parent)?.setAttributes(requestAttributes(request));
}

/**
 * A subgraph fetch in a span of its own (`tollgate.fetch`, CLIENT), whose W3C context is written into `headers`
 * so the subgraph's server span is its child. Its parent is the active span when there is one — @apollo/gateway's
 * `gateway.fetch` with TRACE_APOLLO_SPANS — else the request span. A request not recorded sends no `traceparent`.
 *
 * `headers` undefined: this request sends nothing and waits on another request's identical fetch
 * (upstream/dedupe.ts); its span says so (`tollgate.fetch.deduplicated`), and the subgraph's span is the other's child.
 */
export function traceFetch<T extends { statusCode: number }>(
  tracer: Tracer,
  subgraph: string,
  request: Pick<RequestContext, 'traceContext'> | undefined,
  headers: Record<string, string> | undefined,
  send: () => Promise<T>,
): Promise<T> {
  const requestContext = recordingContext(request);
  if (!requestContext) return send();
  return fetchInSpan(tracer, subgraph, requestContext, headers, send);
}

async function fetchInSpan<T extends { statusCode: number }>(
  tracer: Tracer,
  subgraph: string,
  requestContext: Context,
  headers: Record<string, string> | undefined,
  send: () => Promise<T>,
): Promise<T> {
  const active = context.active();
  const parent = trace.getSpan(active)?.isRecording() ? active : requestContext;
  const span = tracer.startSpan(
    'tollgate.fetch',
    {
      kind: SpanKind.CLIENT,
      attributes: headers
        ? { 'tollgate.subgraph': subgraph }
        : { 'tollgate.subgraph': subgraph, 'tollgate.fetch.deduplicated': true },
    },
    parent,
  );
  if (headers) propagator.inject(trace.setSpan(parent, span), headers, defaultTextMapSetter);
  try {
    const answer = await send();
    span.setAttribute('http.response.status_code', answer.statusCode);
    if (answer.statusCode >= 300) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${answer.statusCode}` });
    return answer;
  } catch (error) {
    // The name (TimeoutError, AbortError…) only: a message may name the subgraph's host.
    const name = typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : 'Error';
    span.setStatus({ code: SpanStatusCode.ERROR, message: name });
    throw error;
  } finally {
    span.end();
  }
}

/** The one propagator: W3C trace context, never baggage; used directly, so no global registration is needed. */
const propagator = new W3CTraceContextPropagator();
