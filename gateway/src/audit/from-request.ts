/**
 * Which requests become audit events, and what the event says: decided once per request from the request's log
 * line and caller (request.ts) when the response is finished — the one place every refusal's code is known, whether
 * the HTTP layer or a stage refused (http/guards.ts `trackRequests`). Pure: unit-tested without a server.
 */
import { randomUUID } from 'node:crypto';
import { canonicalJson } from './canonical';
import type { AuditEventInput } from './event';
import type { Caller, RequestLog } from '../request';
import { RefusalReason } from '../errors';
import { redactPrincipal, redactVariables } from './redact';

/** Codes that say a check refused the operation (authorization, limits, cost, budget, persisted operations). */
const REFUSAL_CODES: ReadonlySet<string> = new Set([
  'FORBIDDEN',
  'UNAUTHORIZED_FIELD_OR_TYPE',
  'COST_ESTIMATED_TOO_EXPENSIVE',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'PERSISTED_QUERY_NOT_IN_LIST',
  'PERSISTED_QUERY_ID_REQUIRED',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PAYLOAD_TOO_LARGE',
  'SERVICE_UNAVAILABLE',
]);

/** Refusal reasons that are about the credential rather than the operation (request log's `reason`). */
const CREDENTIAL_REASONS: ReadonlySet<string> = new Set(['TENANT_MISMATCH']);

export interface RequestFacts {
  requestId: string;
  status: number;
  log: RequestLog;
  caller?: Caller;
}

export interface EventOptions {
  hmacKey: Buffer;
  now?: () => Date;
}

/** The event for a finished request, or undefined when it is nothing the trail keeps (a query, an anonymous 401). */
export function eventFromRequest(facts: RequestFacts, options: EventOptions): AuditEventInput | undefined {
  const { log, caller } = facts;
  const credentialEvent = log.credentialEvent;
  const tenant = log.tenantId ?? credentialEvent?.tenantId;
  if (tenant === undefined) return undefined;
  // A tenant the control plane does not have has no trail to add to: writing one would start a chain for any id a
  // trusted issuer names, and bring back the chain of an erased tenant (`tollgate tenant erase` deletes it). The
  // refusal is in the request log.
  if (log.reason === RefusalReason.TENANT_UNKNOWN) return undefined;
  const refusalCode = log.errorCodes.find((code) => REFUSAL_CODES.has(code));
  const isCredential =
    credentialEvent !== undefined || (log.reason !== undefined && CREDENTIAL_REASONS.has(log.reason));
  const executedMutation = log.operationType === 'mutation' && log.executed === true;
  // A stage of the pipeline refused (limits, authorization, cost, budget, …): whatever code it answered with.
  const stageRefusal = log.refusedBy !== undefined;
  if (!isCredential && !executedMutation && refusalCode === undefined && !stageRefusal) return undefined;

  const keyId = caller?.apiKeyId ?? credentialEvent?.keyId;
  const principal = caller?.principal ?? log.principal ?? (keyId ? `key:${keyId}` : 'unknown');
  const event: AuditEventInput = {
    id: randomUUID(),
    tenant,
    time: (options.now?.() ?? new Date()).toISOString(),
    // An executed mutation is one whatever its subgraphs answered (a 502 when all failed): it was attempted.
    type: isCredential ? 'credential' : executedMutation ? 'mutation' : 'refusal',
    action: isCredential
      ? (credentialEvent?.reason ?? log.reason ?? 'credential')
      : executedMutation
        ? (log.operationName ?? 'anonymous')
        : (refusalCode ?? log.errorCodes[0] ?? 'REFUSED'),
    actor: {
      principal: redactPrincipal(principal, options.hmacKey),
      credential: caller?.credential ?? (keyId ? 'apiKey' : 'jwt'),
      ...(keyId ? { keyId } : {}),
    },
    outcome: executedMutation && !isCredential ? (log.errorCodes.length > 0 ? 'error' : 'ok') : 'refused',
    requestId: facts.requestId,
  };
  if (log.errorCodes.length > 0) event.errorCodes = [...new Set(log.errorCodes)].slice(0, 20);
  if (log.reason !== undefined) event.reason = log.reason.slice(0, 128);
  if (log.traceId !== undefined) event.traceId = log.traceId;
  if (log.documentHash !== undefined) event.documentHash = log.documentHash;
  if (log.operationType !== undefined) event.details = { operationType: log.operationType };
  if (log.refusedBy !== undefined) event.details = { ...event.details, stage: log.refusedBy };
  if (log.operationName !== undefined && event.type !== 'mutation')
    event.details = { ...event.details, operationName: log.operationName.slice(0, 128) };
  if (log.variables && log.operationType === 'mutation') {
    event.variables = canonicalJson(redactVariables(log.variables, { hmacKey: options.hmacKey }));
  }
  return event;
}
