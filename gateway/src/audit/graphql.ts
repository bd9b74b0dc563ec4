/**
 * `auditEvents`: a tenant's admins read their own tenant's audit trail through GraphQL (the gateway-owned platform
 * graph, platform-graph/). The tenant is the authenticated caller's, never an argument. Arguments are checked here
 * once (`parseAuditArgs`), by the authorization rule before anything runs (authz/rules.ts) and again by the resolver.
 * Pages go oldest first, by seq; the cursor is the last seq of the page.
 */
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../request';
import { AUDIT_EVENT_TYPES, type AuditEventType, type AuditRecord } from './event';
import type { AuditQuery } from './store';

export const MAX_AUDIT_PAGE = 100;

export interface AuditArgs {
  first?: unknown;
  after?: unknown;
  type?: unknown;
  actor?: unknown;
  since?: unknown;
}

export type ParsedAuditArgs = { ok: true; first: number; query: AuditQuery } | { ok: false; problem: string };

export function parseAuditArgs(args: AuditArgs): ParsedAuditArgs {
  const first = args.first ?? 20;
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > MAX_AUDIT_PAGE)
    return { ok: false, problem: `first must be an integer from 1 to ${MAX_AUDIT_PAGE}` };
  const query: AuditQuery = {};
  if (args.after !== undefined && args.after !== null) {
    if (typeof args.after !== 'string' || !/^\d{1,15}$/.test(args.after))
      return { ok: false, problem: 'after must be a cursor from a previous page' };
    query.afterSeq = Number(args.after);
  }
  if (args.type !== undefined && args.type !== null) {
    if (typeof args.type !== 'string' || !(AUDIT_EVENT_TYPES as readonly string[]).includes(args.type))
      return { ok: false, problem: `type must be one of ${AUDIT_EVENT_TYPES.join(', ')}` };
    query.type = args.type as AuditEventType;
  }
  if (args.actor !== undefined && args.actor !== null) {
    if (typeof args.actor !== 'string' || args.actor.length > 256) return { ok: false, problem: 'actor is too long' };
    query.actor = args.actor;
  }
  if (args.since !== undefined && args.since !== null) {
    // Bounded before parsing; Date parsing of a short string is linear.
    const since = typeof args.since === 'string' && args.since.length <= 40 ? new Date(args.since) : undefined;
    if (!since || Number.isNaN(since.getTime()))
      return { ok: false, problem: 'since must be an ISO-8601 date or time' };
    query.since = since;
  }
  return { ok: true, first, query };
}

/** What the resolver asks of the trail (the audit's store; absent when the audit is off). */
export interface AuditReader {
  page(tenant: string, query: AuditQuery, limit: number): Promise<AuditRecord[]>;
}

export interface AuditEventNode {
  seq: number;
  time: string;
  type: string;
  action: string;
  actor: { principal: string; credential: string; keyId: string | null };
  outcome: string;
  errorCodes: string[];
  reason: string | null;
  requestId: string | null;
  traceId: string | null;
  documentHash: string | null;
  variables: string | null;
  prevHash: string;
  hash: string;
}

export interface AuditEventPage {
  nodes: AuditEventNode[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export function toNode(record: AuditRecord): AuditEventNode {
  return {
    seq: record.seq,
    time: record.time,
    type: record.type,
    action: record.action,
    actor: {
      principal: record.actor.principal,
      credential: record.actor.credential,
      keyId: record.actor.keyId ?? null,
    },
    outcome: record.outcome,
    errorCodes: record.errorCodes ?? [],
    reason: record.reason ?? null,
    requestId: record.requestId ?? null,
    traceId: record.traceId ?? null,
    documentHash: record.documentHash ?? null,
    variables: record.variables ?? null,
    prevHash: record.prevHash,
    hash: record.hash,
  };
}

export function auditEventsResolver(reader: AuditReader | undefined) {
  return async (
    _parent: unknown,
    args: AuditArgs,
    context: Partial<GatewayContext> | undefined,
  ): Promise<AuditEventPage> => {
    const tenantId = context?.caller?.tenantId;
    // The gateway only runs operations for an authenticated caller; without one, fail closed and say nothing.
    if (!tenantId) throw new GraphQLError('Forbidden', { extensions: { code: 'FORBIDDEN' } });
    const parsed = parseAuditArgs(args);
    if (!parsed.ok) throw new GraphQLError(parsed.problem, { extensions: { code: 'BAD_USER_INPUT' } });
    if (!reader)
      throw new GraphQLError('The audit trail is not enabled.', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
    let records: AuditRecord[];
    try {
      records = await reader.page(tenantId, parsed.query, parsed.first + 1);
    } catch {
      // MongoDB unreachable: the trail is still being kept (spooled); reading it waits.
      throw new GraphQLError('The audit trail is temporarily unavailable.', {
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      });
    }
    const nodes = records.slice(0, parsed.first).map(toNode);
    return {
      nodes,
      endCursor: nodes.length > 0 ? String(nodes[nodes.length - 1]!.seq) : null,
      hasNextPage: records.length > parsed.first,
    };
  };
}
