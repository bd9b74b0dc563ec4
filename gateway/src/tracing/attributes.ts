/**
 * The attributes of Tollgate's spans, built from what the request context knows (request.ts). Pure, and called only
 * when tracing is on. What goes on a span is chosen here, in one place, so that nothing else can put a credential on
 * one: never the token, the API key or its id, the principal, a variable's value or the document's text — the
 * tenant, its plan, the kind of credential, the operation's name and type, the document's hash, the costs, and the
 * code a refusal was answered with.
 */
import type { Attributes, Span } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import { containsCredential } from '../../../common/secret-shapes';
import type { RequestContext } from '../request';

/** Attribute names, one per concept (README "Observability" lists them). */
export const Attr = {
  TENANT: 'tenant',
  PLAN: 'tollgate.plan',
  CREDENTIAL_KIND: 'tollgate.credential.kind',
  CLIENT_NAME: 'tollgate.client.name',
  CLIENT_VERSION: 'tollgate.client.version',
  OPERATION_NAME: 'graphql.operation.name',
  OPERATION_TYPE: 'graphql.operation.type',
  DOCUMENT_HASH: 'graphql.document.hash',
  COST_REQUESTED: 'tollgate.cost.requested',
  COST_ACTUAL: 'tollgate.cost.actual',
  REFUSAL_CODE: 'tollgate.refusal.code',
  /** On a refused `tollgate.admission` span: the stage whose decision refused (`quota`, `cost`). */
  ADMISSION_STAGE: 'tollgate.admission.stage',
} as const;

/** Client-chosen strings (operation name, client headers) are cut to this many characters. */
export const MAX_CLIENT_TEXT = 128;

/**
 * A client-chosen string fit for a span: bounded, and dropped altogether if it holds something shaped like a
 * credential (a client that pastes a token into its client-name header must not have it exported).
 */
export function clientText(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const bounded = value.length > MAX_CLIENT_TEXT ? value.slice(0, MAX_CLIENT_TEXT) : value;
  return containsCredential(bounded) ? undefined : bounded;
}

/** `jwt` | `api-key`: the kind only, never the credential or its id. */
export function credentialKind(credential: 'jwt' | 'apiKey'): 'jwt' | 'api-key' {
  return credential === 'jwt' ? 'jwt' : 'api-key';
}

/** What the request context knows so far, as span attributes; fields not known yet are left out. */
export function requestAttributes(request: RequestContext): Attributes {
  const attributes: Attributes = {};
  const tenantId = request.caller?.tenantId ?? request.tenant?.id;
  if (tenantId) attributes[Attr.TENANT] = tenantId;
  if (request.tenant) attributes[Attr.PLAN] = request.tenant.plan.id;
  if (request.caller) attributes[Attr.CREDENTIAL_KIND] = credentialKind(request.caller.credential);
  const operationName = clientText(request.operationName ?? request.log.operationName);
  if (operationName) attributes[Attr.OPERATION_NAME] = operationName;
  if (request.operation) attributes[Attr.OPERATION_TYPE] = request.operation.operation;
  if (request.queryHash) attributes[Attr.DOCUMENT_HASH] = request.queryHash;
  // The cost stage's report (request.cost) before the account hook copies it into the log.
  const requestedCost = request.log.requestedCost ?? request.cost?.requestedQueryCost;
  const { actualCost } = request.log;
  if (requestedCost !== undefined) attributes[Attr.COST_REQUESTED] = requestedCost;
  if (actualCost !== undefined) attributes[Attr.COST_ACTUAL] = actualCost;
  return attributes;
}

/** The `apollographql-client-name` / `-version` headers, bounded. */
export function clientAttributes(headers: Readonly<Record<string, string | string[] | undefined>>): Attributes {
  const attributes: Attributes = {};
  const name = clientText(headers['apollographql-client-name']);
  const version = clientText(headers['apollographql-client-version']);
  if (name) attributes[Attr.CLIENT_NAME] = name;
  if (version) attributes[Attr.CLIENT_VERSION] = version;
  return attributes;
}

/**
 * Marks a span refused or failed with the stable code the client got — the code only: a message may quote what the
 * client sent, and an exception's stack names files and hosts.
 */
export function recordRefusal(span: Span, code: string): void {
  span.setAttribute(Attr.REFUSAL_CODE, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/** The `extensions.code` of a GraphQL error (or anything shaped like one), else `INTERNAL_SERVER_ERROR`. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'extensions' in error) {
    const { extensions } = error as { extensions?: { code?: unknown } };
    if (typeof extensions?.code === 'string') return extensions.code;
  }
  return 'INTERNAL_SERVER_ERROR';
}
