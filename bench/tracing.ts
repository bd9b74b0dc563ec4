/**
 * What tracing costs the gateway per request, measured on the tracing code itself with the real SDK — a figure a
 * loaded shared machine does not drown, unlike the end-to-end A/B of `npm run bench` (bench/run.ts). One simulated
 * request goes through what tracing adds to a request of the README's query: the request span (tracing/spans.ts),
 * the two HTTP steps, the seven stages and the account after-hook, and five subgraph fetches with `traceparent`;
 * spans go through the BatchSpanProcessor and the real OTLP/HTTP exporter to a receiver in this process, so their
 * export (JSON serialisation, HTTP) is in the CPU measured. Not included: what the AsyncLocalStorage context
 * manager costs every promise of the process with TRACE_APOLLO_SPANS=true (run.ts's tollgate-observed-10-apollo).
 *
 *   npx tsx bench/tracing.ts
 */
import { EventEmitter } from 'node:events';
import type { Request, RequestHandler, Response } from 'express';
import { startTracing, type Tracing } from '../common/tracing/setup';
import { attachRequestState, type OperationRequest, type RequestContext } from '../gateway/src/request';
import { startOtlpReceiver } from '../gateway/src/testing/otlp-receiver';
import {
  isRecorded,
  runStageTraced,
  traceAfterHook,
  traceFetch,
  traceRequests,
  traceStep,
} from '../gateway/src/tracing/spans';
import type { TenantRecord } from '../gateway/src/tenants/tenant';

const REQUESTS = Number(process.env.BENCH_TRACING_REQUESTS ?? 20_000);
const STAGES = ['operation-kind', 'introspection', 'limits', 'authorize', 'account', 'cost', 'references'];
const tenant = { id: 'acme', plan: { id: 'enterprise' } } as unknown as TenantRecord;
const passThrough: RequestHandler = (_req, _res, next) => next();

/** The middleware, built once per tracer as the gateway builds its route (graphql-route.ts). */
const built = new WeakMap<Tracing, { request: RequestHandler; steps: RequestHandler[] }>();
function handlersOf(tracing: Tracing): { request: RequestHandler; steps: RequestHandler[] } {
  let handlers = built.get(tracing);
  if (!handlers) {
    const { tracer } = tracing;
    handlers = {
      request: traceRequests({ tracer, incoming: 'honour' }),
      steps: ['tollgate.authenticate', 'tollgate.persisted'].map((step) => traceStep(tracer, step, passThrough)),
    };
    built.set(tracing, handlers);
  }
  return handlers;
}

async function oneRequest(tracing: Tracing | undefined): Promise<void> {
  const req = Object.assign(new EventEmitter(), {
    method: 'POST',
    headers: { 'apollographql-client-name': 'web', 'apollographql-client-version': '1.0' },
  }) as unknown as Request;
  const res = Object.assign(new EventEmitter(), { locals: {}, statusCode: 200 }) as unknown as Response;
  const state = {
    requestId: 'r',
    log: { errorCodes: [], requestedCost: 29, actualCost: 14 },
    caller: { tenantId: 'acme', principal: 'p', roles: [], credential: 'jwt', tokenExpiresAt: 0 },
    tenant,
    operationName: 'Products',
    operation: { operation: 'query' },
    queryHash: 'a'.repeat(64),
  } as unknown as RequestContext;
  attachRequestState(res, state);
  const request = state as OperationRequest;
  if (!tracing) {
    // The same work without tracing: the steps, stages and fetches as plain calls.
    for (const _stage of STAGES) await Promise.resolve();
    for (let i = 0; i < 5; i++) await Promise.resolve({ statusCode: 200 });
    return;
  }
  const { tracer } = tracing;
  const handlers = handlersOf(tracing);
  await new Promise<void>((resolve) => handlers.request(req, res, () => resolve()));
  for (const step of handlers.steps) await new Promise<void>((resolve) => step(req, res, () => resolve()));
  // As the pipeline and the data source call them: a request not recorded runs its stages, its after-hook and its
  // fetches unwrapped (pipeline/index.ts, upstream/data-source.ts).
  const traced = isRecorded(state);
  for (const stage of STAGES) await (traced ? runStageTraced(tracer, stage, request, () => undefined) : undefined);
  const hook = () => undefined;
  const after = traced ? traceAfterHook(tracer, 'account', hook) : hook;
  for (let i = 0; i < 5; i++) {
    const headers: Record<string, string> = {};
    const send = () => Promise.resolve({ statusCode: 200 });
    await (traced ? traceFetch(tracer, 'products', state, headers, send) : send());
  }
  await after(request, { body: {}, http: {} } as never);
  res.emit('finish');
}

async function measure(label: string, tracing: Tracing | undefined): Promise<number> {
  for (let i = 0; i < 2_000; i++) await oneRequest(tracing);
  await tracing?.forceFlush();
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) {
    await oneRequest(tracing);
    // The batch processor's queue holds 2048 spans and drops the rest: a tight loop outruns its timer, and a dropped
    // span costs no export. Flushed every 100 requests (about 1,600 spans), every span is exported and measured.
    if (i % 100 === 99) await tracing?.forceFlush();
  }
  await tracing?.forceFlush();
  const used = process.cpuUsage(before);
  const us = (used.user + used.system) / REQUESTS;
  console.log(`${label.padEnd(48)} ${us.toFixed(1)} µs CPU per request`);
  return us;
}

async function main(): Promise<void> {
  const receiver = await startOtlpReceiver({ keep: false });
  const base = await measure('tracing off (the same awaits, no span)', undefined);
  for (const ratio of [0, 0.1, 1]) {
    const tracing = startTracing(
      {
        exporter: 'otlp',
        endpoint: receiver.url,
        serviceName: 'bench',
        sampler: 'parentbased_traceidratio',
        ratio,
        incoming: 'honour',
        apolloSpans: false,
      },
      { global: false },
    );
    const us = await measure(`tracing on, ${ratio * 100} % sampled`, tracing);
    console.log(`${''.padEnd(48)} ${(us - base).toFixed(1)} µs more than off`);
    await tracing.shutdown();
  }
  console.log(
    `spans received: ${receiver.count()} (every one, warm-up included: ${2_000 + REQUESTS} requests × 16 spans × the sampled share)`,
  );
  await receiver.close();
}

void main();
