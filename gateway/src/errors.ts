/**
 * The gateway's refusal vocabulary. Clients and dashboards key on `extensions.code`, so codes are stable and each
 * refusal carries the HTTP status that goes with it; messages are for humans and never carry internals.
 */
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_REQUEST: 'BAD_REQUEST',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** APQ: the hash is not cached; the client sends it again with the query (persisted/apq.ts). */
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  /** The id is not in the caller's manifest, or the operation not in the tenant's frontend safelist. */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  /** API keys run persisted operations only: a query text, or an attempt to register one, is refused. */
  PERSISTED_QUERY_ID_REQUIRED: 'PERSISTED_QUERY_ID_REQUIRED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  DOWNSTREAM_SERVICE_ERROR: 'DOWNSTREAM_SERVICE_ERROR',
  SUBGRAPH_TIMEOUT: 'SUBGRAPH_TIMEOUT',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  COST_ESTIMATED_TOO_EXPENSIVE: 'COST_ESTIMATED_TOO_EXPENSIVE',
  RATE_LIMITED: 'RATE_LIMITED',
  /** The tenant's plan's monthly cost-point quota is used up (pipeline/quota.ts): 429 until the next month. */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** Filter-mode authorization: a denied field comes back null with this error at its path, in a 200 response. */
  UNAUTHORIZED_FIELD_OR_TYPE: 'UNAUTHORIZED_FIELD_OR_TYPE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * Refinements a client may see as `extensions.reason` next to the code, which stays what it is (a suspended
 * tenant is FORBIDDEN, with reason TENANT_SUSPENDED). Stable values, like the codes.
 */
export const RefusalReason = {
  TENANT_SUSPENDED: 'TENANT_SUSPENDED',
  TENANT_UNKNOWN: 'TENANT_UNKNOWN',
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

const KNOWN_REASONS: ReadonlySet<string> = new Set(Object.values(RefusalReason));

export function isRefusalReason(value: unknown): value is RefusalReason {
  return typeof value === 'string' && KNOWN_REASONS.has(value);
}

/**
 * Refinements of a downstream failure, written by the gateway's data source (never taken from a subgraph's answer):
 * CIRCUIT_OPEN says the subgraph's circuit breaker is open and the fetch was not sent at all.
 */
export const DownstreamReason = {
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
} as const;
export type DownstreamReason = (typeof DownstreamReason)[keyof typeof DownstreamReason];

const DOWNSTREAM_REASONS: ReadonlySet<string> = new Set(Object.values(DownstreamReason));

export function isDownstreamReason(value: unknown): value is DownstreamReason {
  return typeof value === 'string' && DOWNSTREAM_REASONS.has(value);
}

export function isKnownErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code);
}

/**
 * The status a refusal answers with. Codes without one (NOT_FOUND, the downstream codes) are field errors inside
 * a response that may also carry data, so the response keeps its 200.
 */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  // Apollo's APQ protocol: clients (apollo-link-persisted-queries, Apollo Kotlin/iOS) retry with the query on this
  // code in a 200 response, as Apollo Server itself answers it.
  PERSISTED_QUERY_NOT_FOUND: 200,
  PERSISTED_QUERY_NOT_IN_LIST: 400,
  PERSISTED_QUERY_ID_REQUIRED: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
  COST_ESTIMATED_TOO_EXPENSIVE: 400,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
};

export interface GatewayErrorOptions {
  /** Overrides the code's usual status, e.g. 405 for a BAD_REQUEST about the method. */
  status?: number;
  headers?: Record<string, string>;
  /** Extra extensions; only keys on the allow-list in upstream/mask-errors.ts reach the client. */
  extensions?: Record<string, unknown>;
}

/**
 * A refusal Apollo Server turns into the right response: `extensions.http` sets the status and headers and is
 * removed before the error is serialized.
 */
export function gatewayError(code: ErrorCode, message: string, options: GatewayErrorOptions = {}): GraphQLError {
  const status = options.status ?? HTTP_STATUS[code];
  const http =
    status === undefined && !options.headers
      ? undefined
      : { ...(status === undefined ? {} : { status }), headers: new HeaderMap(Object.entries(options.headers ?? {})) };
  return new GraphQLError(message, {
    extensions: { ...options.extensions, code, ...(http ? { http } : {}) },
  });
}

/** The status for a refusal raised outside Apollo Server (Express middleware); 500 when the code has none. */
export function httpStatusOf(error: GraphQLError): number {
  const http = error.extensions.http as { status?: unknown } | undefined;
  if (typeof http?.status === 'number') return http.status;
  const code = error.extensions.code;
  return (isKnownErrorCode(code) && HTTP_STATUS[code]) || 500;
}
