/**
 * The gateway's spans: the request span (the root of a request's trace, or a child of the client's `traceparent`
 * as the policy says), the HTTP layer's steps (authenticate, persisted operation), and the operation stages and
 * their after-hooks (pipeline/index.ts calls `runStageTraced`). Every function here is reached only when a tracer
 * was given — tracing off means one `if (tracer)` per request, where the wiring is built, and nothing else.
 *
 * Each span ends with the attributes the request context holds at that moment (attributes.ts), so a stage's span
 * says what the stage learned (the cost stage's requested cost, the account hook's actual cost).
 */
import { SpanKind, context, trace, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
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
import { clientAttributes, errorCode, recordRefusal, requestAttributes } from './attributes';
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
 * away). Everything after it runs in its context, so Apollo's spans and the subgraph fetches are its descendants.
 */
export function traceRequests(options: RequestTracingOptions): RequestHandler {
  const { tracer, incoming } = options;
  return (req: Request, res: Response, next) => {
    const { parent, links } = requestSpanParent(incoming, req.headers);
    const span = tracer.startSpan(
      `${req.method} /graphql`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'http.route': '/graphql', 'url.path': '/graphql' },
        ...(links ? { links } : {}),
      },
      parent,
    );
    span.setAttributes(clientAttributes(req.headers));
    res.locals[REQUEST_SPAN] = span;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const state = requestStateOf(res);
      if (state) span.setAttributes(requestAttributes(state));
      span.setAttribute('http.response.status_code', res.statusCode);
      const code = codeSince(state, 0);
      if (code) recordRefusal(span, code);
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    const active = trace.setSpan(parent, span);
    // The body is read from the socket's events, which run in the socket's context, not this one: bound, their
    // listeners (express.json's) run in the span's context and so does everything after them.
    context.bind(active, req);
    context.bind(active, res);
    context.with(active, next);
  };
}

/**
 * One HTTP-layer step (`step`) inside a span of its own. The step's own work runs in the span's context; the rest of
 * the route (`next`) in the context the step was entered in, so later spans are the request span's children and
 * not this step's. A step that answers the request itself (a refusal) ends its span when the answer is sent.
 */
export function traceStep(tracer: Tracer, name: string, step: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const outer = context.active();
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

function finishSpan(span: Span, state: RequestContext | undefined, code: string | undefined): void {
  if (state) span.setAttributes(requestAttributes(state));
  if (code) recordRefusal(span, code);
  span.end();
}

/** A pipeline stage's `run`, in a span named `tollgate.<stage>`; a refusal's code is recorded on it. */
export async function runStageTraced<T>(
  tracer: Tracer,
  name: string,
  request: OperationRequest,
  run: () => T | Promise<T>,
  /** Whether the request's `refusal` (request.ts, `refuse`) is this span's: not for after-hooks, which run after it. */
  ownsRefusal = true,
): Promise<T> {
  const span = tracer.startSpan(`tollgate.${name}`);
  let code: string | undefined;
  try {
    return await context.with(trace.setSpan(context.active(), span), run);
  } catch (error) {
    code = errorCode(error);
    throw error;
  } finally {
    const refusal = ownsRefusal ? request.refusal : undefined;
    finishSpan(span, request, code ?? (refusal instanceof GraphQLError ? errorCode(refusal) : undefined));
  }
}

/** A stage's after-hook in a span named `tollgate.<stage>.after` (the account stage's settlement, say). */
export function traceAfterHook(tracer: Tracer, name: string, hook: AfterHook): AfterHook {
  return (request, response) => runStageTraced(tracer, `${name}.after`, request, () => hook(request, response), false);
}

/**
 * The operation's name, type and hash onto the request span — called by the runner once they are known. Apollo
 * Server's context value is a copy of the request context (request.ts), so the request span, which ends with the
 * HTTP layer's copy, would not see them otherwise. The request span is the active one in Apollo's hooks.
 */
export function annotateRequestSpan(request: OperationRequest): void {
  trace.getActiveSpan()?.setAttributes(requestAttributes(request));
}
