/**
 * Express middleware in front of Apollo Server: only the gateway may call a subgraph.
 *
 * The gateway signs every subgraph fetch (common/internal-token.ts) for this subgraph's audience and this exact
 * query. A verified operation token enters the tenant scope around the rest of the request, so the resolvers and
 * every mongoose query they cause run for that tenant; the gateway's own `svc` requests (health checks, schema
 * loading) carry no tenant and may only ask for `_service { sdl }` and `__typename`.
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { Kind, parse, type FieldNode, type SelectionNode } from 'graphql';
import { isRole, isTenantId } from '../../common/ids';
import {
  INTERNAL_TOKEN_HEADER,
  InternalTokenError,
  verifyInternalToken,
  type InternalTokenFailure,
} from '../../common/internal-token';
import type { Logger } from '../../common/logger';
import { DEFAULT_MAX_REQUEST_DEADLINE_MS, SERVICE_UNAVAILABLE, requestDeadline } from './deadline';
import { requireScope, runInScope, type RequestScope } from './scope';

export type VerifiedRequest =
  | { readonly kind: 'op'; readonly requestId: string; readonly scope: RequestScope }
  | { readonly kind: 'svc'; readonly requestId: string };

export interface InternalAuthOptions {
  /** This subgraph's own key, derived from the gateway's secret. */
  key: Buffer;
  /** This subgraph's name: the audience its tokens must carry. */
  audience: string;
  logger: Logger;
  /** The longest a request may take, whatever its token says, and the deadline of one whose token names none. */
  maxDeadlineMs?: number;
}

type RefusalReason = InternalTokenFailure | 'missing-token' | 'missing-query' | 'svc-operation' | 'bad-tenant';

/** A request whose deadline passed before it could start: the gateway has stopped waiting, nothing is run. */
const DEADLINE_PASSED_BODY = {
  errors: [{ message: 'Service temporarily unavailable', extensions: { code: SERVICE_UNAVAILABLE } }],
};

/** The exact body of every refusal: the caller learns nothing about why. */
export const UNAUTHORIZED_BODY = { errors: [{ message: 'Unauthorized', extensions: { code: 'UNAUTHENTICATED' } }] };

const MAX_TOKEN_LENGTH = 8192;
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const verified = new WeakMap<Request, VerifiedRequest>();

/** What the middleware established for this request; undefined when the middleware did not run. */
export function verifiedRequest(req: Request): VerifiedRequest | undefined {
  return verified.get(req);
}

function safeRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value) ? value : undefined;
}

/** The request id a refused token claims, for the log line only: nothing else of an unverified token is used. */
function claimedRequestId(token: string | undefined): string | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    return safeRequestId((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { rid?: unknown }).rid);
  } catch {
    return undefined;
  }
}

/** A field without alias, arguments or directives. */
function isPlainField(selection: SelectionNode): selection is FieldNode {
  return (
    selection.kind === Kind.FIELD && !selection.alias && !selection.arguments?.length && !selection.directives?.length
  );
}

/** True when the document is a single query selecting only `_service { sdl }` and/or `__typename`. */
export function isServiceQuery(query: string): boolean {
  let document;
  try {
    document = parse(query, { noLocation: true, maxTokens: 200 });
  } catch {
    return false;
  }
  const [operation, ...others] = document.definitions;
  if (!operation || others.length > 0) return false;
  if (operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'query') return false;
  if (operation.variableDefinitions?.length || operation.directives?.length) return false;
  return operation.selectionSet.selections.every((selection) => {
    if (!isPlainField(selection)) return false;
    if (selection.name.value === '__typename') return !selection.selectionSet;
    if (selection.name.value !== '_service' || !selection.selectionSet) return false;
    return selection.selectionSet.selections.every(
      (inner) => isPlainField(inner) && inner.name.value === 'sdl' && !inner.selectionSet,
    );
  });
}

export interface InternalAuth {
  /** Before the body is read: refuses a request that carries no token at all, without parsing its body. */
  requireToken: RequestHandler;
  /** After JSON parsing: verifies the token against the query and enters the tenant scope for the rest. */
  verify: RequestHandler;
}

export function internalAuth(options: InternalAuthOptions): InternalAuth {
  const { key, audience, logger } = options;
  const maxDeadlineMs = options.maxDeadlineMs ?? DEFAULT_MAX_REQUEST_DEADLINE_MS;

  const refuse = (res: Response, reason: RefusalReason, requestId: string | undefined) => {
    logger.warn('gateway token refused', { reason, requestId });
    res.status(401).json(UNAUTHORIZED_BODY);
  };

  const tokenOf = (req: Request): string | undefined => {
    const token = req.get(INTERNAL_TOKEN_HEADER);
    return token && token.length <= MAX_TOKEN_LENGTH ? token : undefined;
  };

  const requireToken: RequestHandler = (req, res, next) =>
    tokenOf(req) ? next() : refuse(res, 'missing-token', undefined);

  const verify: RequestHandler = (req, res, next) => {
    const token = tokenOf(req);
    if (!token) return refuse(res, 'missing-token', undefined);
    const body: unknown = req.body;
    const query = typeof body === 'object' && body !== null ? (body as { query?: unknown }).query : undefined;
    if (typeof query !== 'string') return refuse(res, 'missing-query', claimedRequestId(token));

    let claims;
    try {
      claims = verifyInternalToken(token, { key, audience, query });
    } catch (error) {
      if (error instanceof InternalTokenError) return refuse(res, error.reason, claimedRequestId(token));
      throw error;
    }
    const requestId = safeRequestId(claims.rid) ?? randomUUID();

    if (claims.kind === 'svc') {
      if (!isServiceQuery(query)) return refuse(res, 'svc-operation', requestId);
      verified.set(req, { kind: 'svc', requestId });
      return next();
    }
    if (!isTenantId(claims.ten)) return refuse(res, 'bad-tenant', requestId);
    const now = Date.now();
    const deadline = requestDeadline(claims.dl, now, maxDeadlineMs);
    if (deadline <= now) {
      // It sat in a queue somewhere until its client was gone: above all a mutation must not start now.
      logger.warn('deadline passed before the request started', { requestId, lateByMs: now - deadline });
      return void res.status(503).json(DEADLINE_PASSED_BODY);
    }
    const scope: RequestScope = {
      tenantId: claims.ten,
      principal: claims.sub,
      // Roles this platform does not know grant nothing.
      roles: claims.roles.filter(isRole),
      requestId,
      deadline,
      ...(claims.plc ? { placement: claims.plc } : {}),
    };
    // Everything downstream — Apollo Server, resolvers, DataLoader batches, mongoose — runs inside this call.
    runInScope(scope, () => {
      verified.set(req, { kind: 'op', requestId, scope: requireScope() });
      next();
    });
  };

  return { requireToken, verify };
}
