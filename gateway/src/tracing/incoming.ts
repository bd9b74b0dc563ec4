/**
 * What becomes of a client's `traceparent` (TRACE_INCOMING_CONTEXT, common/tracing/settings.ts): the parent context
 * and links of the gateway's request span. Only the W3C trace context is read; baggage is never extracted, so
 * nothing a client sends can name a tenant on a span.
 */
import {
  ROOT_CONTEXT,
  defaultTextMapGetter,
  isSpanContextValid,
  trace,
  type Context,
  type Link,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { IncomingTracePolicy } from '../../../common/tracing/settings';

export interface RequestSpanParent {
  /** The context the request span starts in: the client's span (`honour`) or none (a new root). */
  parent: Context;
  /** `link`: the client's span, linked rather than continued. */
  links?: Link[];
}

const NEW_ROOT: RequestSpanParent = { parent: ROOT_CONTEXT };
/** Used directly rather than through the API's global propagator, which is registered only with TRACE_APOLLO_SPANS. */
const propagator = new W3CTraceContextPropagator();

/**
 * `honour`: the client's span is the parent (and, with a parent-based sampler, its sampled flag decides);
 * `link`: a new trace, linked to the client's span; `ignore`: a new trace. A missing or malformed `traceparent`
 * gives a new root whatever the policy.
 */
export function requestSpanParent(
  policy: IncomingTracePolicy,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): RequestSpanParent {
  if (policy === 'ignore' || headers.traceparent === undefined) return NEW_ROOT;
  const extracted = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const client = trace.getSpanContext(extracted);
  if (!client || !isSpanContextValid(client)) return NEW_ROOT;
  if (policy === 'honour') return { parent: extracted };
  return { parent: ROOT_CONTEXT, links: [{ context: client }] };
}
