/**
 * Starts the OpenTelemetry SDK for this process — once, before the gateway or a subgraph starts: a NodeTracerProvider
 * with the sampler the settings name and a BatchSpanProcessor exporting OTLP/HTTP JSON. With `global` it is also
 * registered behind `@opentelemetry/api`, with the AsyncLocalStorage context manager (`register()`'s default in
 * Node) and the W3C trace-context propagator only (no baggage: nothing a client sends in baggage is ever read) —
 * then @apollo/gateway's own spans (`gateway.request`, `gateway.plan`, `gateway.execute`, `gateway.fetch`, …) are
 * recorded beside ours.
 *
 * Called only when tracing is on (settings.ts): with it off nothing is registered, the API stays a no-op, and the
 * AsyncLocalStorage context manager — which taxes every promise — is never installed.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator, type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { SamplerName, TracingSettings } from './settings';

/** The instrumentation scope of Tollgate's own spans. */
export const TRACER_NAME = 'tollgate';

export interface Tracing {
  /** Tollgate's tracer; hand it to the factories that take a `tracer` option. */
  readonly tracer: Tracer;
  readonly settings: TracingSettings;
  /** Exports every finished span now (tests, and before a benchmark reads its receiver). */
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting, and unregisters the SDK (shutdown: after the listener drained). */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /** Replaces the exporter the settings name (tests). */
  exporter?: SpanExporter;
  /**
   * Register globally: the provider behind `@opentelemetry/api` (so libraries' spans — @apollo/gateway's — are
   * recorded), the AsyncLocalStorage context manager and the W3C propagator. Subgraphs need it (their MongoDB
   * command spans find the request's span in the active context); the gateway only with TRACE_APOLLO_SPANS.
   * Without it, Tollgate's tracer is the only one recording and nothing global changes.
   */
  global: boolean;
}

export function buildSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/**
 * One line per span on standard output, for `npm start` without a collector (`TOLLGATE_TRACES=console`): the SDK's
 * ConsoleSpanExporter prints each span as a multi-line object, which drowns the logs.
 */
class CompactConsoleExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      const { traceId, spanId } = span.spanContext();
      const ms = span.duration[0] * 1e3 + span.duration[1] / 1e6;
      const parent = span.parentSpanContext?.spanId ?? '-';
      process.stdout.write(`[trace ${traceId}] ${spanId} ← ${parent} ${span.name} ${ms.toFixed(2)} ms\n`);
    }
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

export function startTracing(settings: TracingSettings, options: StartTracingOptions): Tracing {
  const exporter =
    options.exporter ??
    (settings.exporter === 'console'
      ? new CompactConsoleExporter()
      : new OTLPTraceExporter({ url: settings.endpoint }));
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': settings.serviceName })),
    sampler: buildSampler(settings.sampler, settings.ratio),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  if (options.global) provider.register({ propagator: new W3CTraceContextPropagator() });
  let stopped: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    settings,
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      stopped ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          if (options.global) {
            trace.disable();
            context.disable();
            propagation.disable();
          }
        }
      })();
      return stopped;
    },
  };
}
