/**
 * Tracing settings from the standard OpenTelemetry environment variables, read and validated once by the gateway's
 * config (gateway/src/config.ts) and a subgraph's (subgraphs/run-config.ts). Pure: nothing is registered here
 * (setup.ts does that). Tracing is off unless an exporter is named: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as
 * it is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended, as the specification says), or
 * `TOLLGATE_TRACES=console` (spans printed, for `npm start` without a collector). `OTEL_SDK_DISABLED=true` and
 * `OTEL_TRACES_EXPORTER=none` turn it off whatever else is set.
 */

/** The samplers of the specification's `OTEL_TRACES_SAMPLER` (the Jaeger and X-Ray ones are not offered). */
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/**
 * What the gateway does with a client's `traceparent`: `honour` continues the client's trace (the default);
 * `link` starts a new trace whose root links to the client's span (a client can then neither force sampling nor
 * join a trace it does not own); `ignore` starts a new trace and keeps nothing of it.
 */
export const INCOMING_TRACE_POLICIES = ['honour', 'link', 'ignore'] as const;
export type IncomingTracePolicy = (typeof INCOMING_TRACE_POLICIES)[number];

export interface TracingSettings {
  /** `otlp`: OTLP/HTTP with JSON bodies to `endpoint`; `console`: each span printed on standard output. */
  exporter: 'otlp' | 'console';
  /** The full URL spans are POSTed to (`…/v1/traces`); absent for `console`. */
  endpoint?: string;
  /** `OTEL_SERVICE_NAME`, else the process's default (`tollgate-gateway`, `tollgate-<subgraph>`). */
  serviceName: string;
  sampler: SamplerName;
  /** `OTEL_TRACES_SAMPLER_ARG`: the ratio of the `…traceidratio` samplers, 0–1 (1 when unset). */
  ratio: number;
  /** Gateway only (`TRACE_INCOMING_CONTEXT`); subgraphs always continue the gateway's trace. */
  incoming: IncomingTracePolicy;
  /**
   * Gateway only (`TRACE_APOLLO_SPANS`, off by default): register the SDK globally with the AsyncLocalStorage
   * context manager, so @apollo/gateway's own spans (`gateway.request`, `.plan`, `.execute`, `.fetch`, …) are
   * recorded. In Node 20 that context manager makes every promise of the process pay for async hooks, sampled or
   * not (README "Performance"); off, Tollgate's spans are parented explicitly and need no context manager.
   */
  apolloSpans: boolean;
}

export const DEFAULT_SAMPLER: SamplerName = 'parentbased_always_on';
export const DEFAULT_INCOMING_TRACE_POLICY: IncomingTracePolicy = 'honour';

function text(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  allowed: readonly T[],
  fallback: T,
  problems: string[],
): T {
  const raw = text(env, name)?.toLowerCase() ?? fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  problems.push(`${name} must be one of ${allowed.join(', ')}`);
  return fallback;
}

function httpUrl(raw: string, name: string, problems: string[]): string | undefined {
  try {
    const url = new URL(raw);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString();
  } catch {
    // reported below
  }
  // The value is not repeated: an endpoint URL may carry credentials.
  problems.push(`${name} must be an http(s) URL`);
  return undefined;
}

/** A linear scan rather than a regular expression (a run of slashes backtracks). */
function withoutTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url[end - 1] === '/') end -= 1;
  return url.slice(0, end);
}

/**
 * The tracing settings, or undefined when tracing is off. Problems (a bad sampler, a ratio out of range, a URL that
 * is not one) are pushed onto `problems`, naming the variable and never its value; the caller refuses to start.
 */
export function readTracingSettings(
  env: NodeJS.ProcessEnv,
  defaultServiceName: string,
  problems: string[],
): TracingSettings | undefined {
  if (text(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  if (text(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase() === 'none') return undefined;
  const mode = oneOf(env, 'TOLLGATE_TRACES', ['otlp', 'console', 'off'], 'otlp', problems);
  if (mode === 'off') return undefined;
  let endpoint: string | undefined;
  if (mode === 'otlp') {
    const traces = text(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    const base = text(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    if (traces !== undefined) endpoint = httpUrl(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', problems);
    else if (base !== undefined)
      endpoint = httpUrl(`${withoutTrailingSlashes(base)}/v1/traces`, 'OTEL_EXPORTER_OTLP_ENDPOINT', problems);
    else return undefined;
    if (endpoint === undefined) return undefined;
  }
  const sampler = oneOf(env, 'OTEL_TRACES_SAMPLER', SAMPLERS, DEFAULT_SAMPLER, problems);
  const rawRatio = text(env, 'OTEL_TRACES_SAMPLER_ARG');
  let ratio = 1;
  if (rawRatio !== undefined) {
    ratio = Number(rawRatio);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      problems.push('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1');
      ratio = 1;
    }
  }
  const serviceName = text(env, 'OTEL_SERVICE_NAME') ?? defaultServiceName;
  if (serviceName.length > 128) problems.push('OTEL_SERVICE_NAME must be at most 128 characters');
  return {
    exporter: mode,
    ...(endpoint ? { endpoint } : {}),
    serviceName,
    sampler,
    ratio,
    incoming: oneOf(env, 'TRACE_INCOMING_CONTEXT', INCOMING_TRACE_POLICIES, DEFAULT_INCOMING_TRACE_POLICY, problems),
    apolloSpans: oneOf(env, 'TRACE_APOLLO_SPANS', ['true', 'false'], 'false', problems) === 'true',
  };
}
