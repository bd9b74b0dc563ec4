/**
 * Which request headers a browser page may send cross-origin, and which answer headers its code may read: the lists
 * the CORS middleware (cors.ts) answers with. Pure, so the configuration (config.ts) can check a deployment's
 * additions without importing the HTTP layer.
 *
 * The defaults cover what real browser clients add on their own: Apollo Client's client awareness
 * (`apollographql-client-name`/`-version`), W3C trace context from OpenTelemetry web (`traceparent`, `tracestate`)
 * and Sentry's (`sentry-trace`, `baggage`). A page that sends a header missing from the preflight's answer gets an
 * opaque "Failed to fetch", so a deployment whose clients send more adds them (`CORS_ALLOWED_HEADERS`).
 */

/** Always allowed: what the gateway itself reads, plus the headers common browser clients send. */
export const DEFAULT_CORS_ALLOWED_HEADERS: readonly string[] = [
  'authorization',
  'content-type',
  'x-request-id',
  // Apollo Server's CSRF prevention: a GET must carry one (http/get-requests.ts).
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'traceparent',
  'tracestate',
  'sentry-trace',
  'baggage',
];

/** Always exposed: the request id to quote in a support ticket, and the budget's state (pipeline/account.ts). */
export const DEFAULT_CORS_EXPOSED_HEADERS: readonly string[] = [
  'x-request-id',
  'retry-after',
  'ratelimit',
  'ratelimit-policy',
  // The monthly quota's warning (pipeline/quota.ts).
  'tollgate-quota-warning',
];

/** What a deployment adds to the defaults (`CORS_ALLOWED_HEADERS`, `CORS_EXPOSED_HEADERS`), lower case. */
export interface CorsHeaderConfig {
  extraAllowedHeaders: readonly string[];
  extraExposedHeaders: readonly string[];
}

/** The header values the middleware sends, computed once. */
export interface CorsHeaderLists {
  /** `Access-Control-Allow-Headers`. */
  allowed: string;
  /** `Access-Control-Expose-Headers`. */
  exposed: string;
}

/** RFC 9110 `token`: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * Names a deployment may not add. `*` would allow every header; `x-api-key` is kept off on purpose (partner keys
 * belong on servers, cors.ts); cookies are never part of a cross-origin call to the gateway (no credentials mode).
 */
const REFUSED_ALLOWED = new Set(['*', 'x-api-key', 'cookie']);
const REFUSED_EXPOSED = new Set(['*', 'set-cookie']);

/**
 * Reads a comma-separated list of header names from the variable `name`; each problem is pushed to `problems`
 * (naming the variable and the rule, as every configuration message does).
 */
export function readHeaderList(
  raw: string | undefined,
  name: string,
  kind: 'allowed' | 'exposed',
  problems: string[],
): string[] {
  if (raw === undefined) return [];
  const refused = kind === 'allowed' ? REFUSED_ALLOWED : REFUSED_EXPOSED;
  const names: string[] = [];
  for (const part of raw.split(',')) {
    const header = part.trim().toLowerCase();
    if (header === '') continue;
    if (refused.has(header)) {
      problems.push(`${name} may not contain ${header}`);
    } else if (!HEADER_NAME.test(header)) {
      problems.push(`${name} must be a comma-separated list of header names`);
    } else if (!names.includes(header)) {
      names.push(header);
    }
  }
  return names;
}

function union(defaults: readonly string[], extra: readonly string[]): string {
  return [...new Set([...defaults, ...extra])].join(', ');
}

/** The defaults plus the deployment's additions, each name once. */
export function corsHeaderLists(config?: CorsHeaderConfig): CorsHeaderLists {
  return {
    allowed: union(DEFAULT_CORS_ALLOWED_HEADERS, config?.extraAllowedHeaders ?? []),
    exposed: union(DEFAULT_CORS_EXPOSED_HEADERS, config?.extraExposedHeaders ?? []),
  };
}
