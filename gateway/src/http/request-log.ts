/**
 * The one log line of a request: what it says (its fields, from the request's log the stages filled in) and at
 * which level. Keys are the shared ones (README, Observability → Logs).
 *
 * Levels: a client's mistake or refusal (4xx, or a 200 answer with only client codes) is `info` — it is the
 * service working, and 4xx at `warn` buried the operator's warnings (issue 14 counted 639 warn lines against 408
 * info in one session); a fault (5xx, a subgraph failed or timed out, an internal error) is `error`, also when the
 * answer is a 200 with a partial result.
 */
import type { LogFields, LogLevel } from '../../../common/logger';
import { ErrorCode } from '../errors';
import type { RequestLog } from '../request';
import type { ClientAwareness } from './client-awareness';

/** Codes that say something failed on our side or downstream, whatever the HTTP status. */
const FAULT_CODES: ReadonlySet<string> = new Set([
  ErrorCode.DOWNSTREAM_SERVICE_ERROR,
  ErrorCode.SUBGRAPH_TIMEOUT,
  ErrorCode.SERVICE_UNAVAILABLE,
  ErrorCode.INTERNAL_SERVER_ERROR,
]);

export function requestLogLevel(path: string, status: number, codes: readonly string[]): LogLevel {
  // Probes poll health endpoints every few seconds; they would drown the request log.
  if (path !== '/graphql') return 'debug';
  if (status >= 500) return 'error';
  for (const code of codes) if (FAULT_CODES.has(code)) return 'error';
  return 'info';
}

export interface RequestLineInput {
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  log: RequestLog;
  /** `apollographql-client-name` / `-version`, those acceptable in a log line (client-awareness.ts). */
  client: ClientAwareness;
  /** The response was not finished when the connection closed. */
  aborted: boolean;
}

/** The fields of the request line. Undefined fields are left out of the line. */
export function requestLineFields(input: RequestLineInput): LogFields {
  const { log } = input;
  const fields: LogFields = {
    requestId: input.requestId,
    method: input.method,
    path: input.path,
    status: input.status,
    durationMs: input.durationMs,
    tenant: log.tenantId,
    principal: log.principal,
    credential: log.credential,
    clientName: input.client.clientName,
    clientVersion: input.client.clientVersion,
    operationName: log.operationName,
    costRequested: log.requestedCost,
    costActual: log.actualCost,
    subgraphFetches: log.subgraphFetches ?? 0,
    // Only when some were: most lines have none, and a field always 0 would only lengthen them.
    deduplicated: log.subgraphFetchesDeduplicated,
    errorCodes: log.errorCodes,
    reason: log.reason,
    aborted: input.aborted ? true : undefined,
  };
  // The line is written when the connection closes, after the request's spans ended: the ids noted while one was
  // active (common/logger.ts, noteTrace). Set only when known, so that they never hide the mixin's.
  if (log.traceId) {
    fields.trace_id = log.traceId;
    fields.span_id = log.spanId;
  }
  return fields;
}
