/**
 * The HTTP side of a request, before and around Apollo Server: the request id and the one log line per request,
 * the refusals decided from the HTTP request alone (method, credentials, content type, body), and the answer to
 * anything unexpected. Refusals here answer in the same GraphQL shape and with the same masking as Apollo's own.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { noteTrace, type Logger } from '../../../common/logger';
import { containsCredential } from '../../../common/secret-shapes';
import { clientKeyOf } from '../client-address';
import { originAllowedFor } from './cors';
import type { FailureLimiter } from '../credentials/failure-limiter';
import { KeySetUnavailableError } from '../credentials/issuers';
import { ErrorCode, RefusalReason, gatewayError, httpStatusOf } from '../errors';
import { attachRequestState, requestStateOf, tenantOf, type GatewayContext, type RequestState } from '../request';
import { assertBodyWithinPlan } from '../pipeline/limits';
import {
  AuthenticationError,
  NotVerifiedFromMemoryError,
  TenantAccessError,
  unauthenticated,
  type Authenticator,
} from './authenticate';
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';
import { maskError } from '../upstream/mask-errors';
import { codeAbandonedWork } from './abandoned-work';
import { clientAwarenessOf } from './client-awareness';
import { PREVIEW_ROLES_HEADER, previewCaller } from './preview-roles';
import { requestLineFields, requestLogLevel } from './request-log';

/** A client's request id is echoed only when it cannot smuggle anything into a log line or a header. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

/**
 * Apollo Server's `formatError`: masks the error for the client. It gets no request, so the codes for the log line
 * are noted where the request is known: `refuse` here, the pipeline plugin's `willSendResponse` for Apollo's answers.
 */
export function formatForClient(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
  return maskError(codeAbandonedWork(formatted, error));
}

/**
 * A refusal decided before Apollo Server sees the request, in the same shape Apollo Server answers with; its code
 * is noted in the request's log line.
 */
export function refuse(res: Response, error: GraphQLError): void {
  const http = error.extensions.http as { headers?: Map<string, string> } | undefined;
  for (const [name, value] of http?.headers ?? []) res.setHeader(name, value);
  const masked = formatForClient(error.toJSON(), error);
  const code = masked.extensions?.code;
  const log = requestStateOf(res)?.log;
  if (typeof code === 'string') log?.errorCodes.push(code);
  const body = JSON.stringify({ errors: [masked] });
  if (log) log.responseBytes = Buffer.byteLength(body);
  res.status(httpStatusOf(error)).type('application/json').send(body);
}

/** Apollo Server's own refusals are small; a larger body is not one of them and is not parsed. */
const MAX_REFUSAL_BODY = 16_384;

/**
 * Notes the codes of a refusal Apollo Server answered without running any plugin hook (406 for an `Accept` it
 * cannot serve, 400 for a malformed request): its body, already masked by `formatError`, is the only place the code
 * is. Answers whose codes were noted already (by the pipeline's `willSendResponse`) are left alone.
 */
export function noteApolloRefusal(res: Response, status: number, body: string): void {
  const log = requestStateOf(res)?.log;
  if (!log) return;
  // Usage metering counts what was sent (metering/index.ts).
  log.responseBytes = Buffer.byteLength(body);
  if (status < 400 || log.errorCodes.length > 0 || body.length > MAX_REFUSAL_BODY) return;
  try {
    const { errors } = JSON.parse(body) as { errors?: { extensions?: { code?: unknown } }[] };
    for (const error of Array.isArray(errors) ? errors : []) {
      if (typeof error?.extensions?.code === 'string') log.errorCodes.push(error.extensions.code);
    }
  } catch {
    // Not JSON: nothing to note.
  }
}

/** The log line's `credential`: `jwt` or `api-key`, the names the traces use too. */
function credentialKind(caller: Pick<GatewayContext['caller'], 'credential'>): 'jwt' | 'api-key' {
  return caller.credential === 'apiKey' ? 'api-key' : 'jwt';
}

function requestState(res: Response): RequestState {
  const state = requestStateOf(res);
  if (!state) throw new Error('no request state: trackRequests must run first');
  return state;
}

/** What the request log also feeds, once per request (metrics/gateway-metrics.ts). */
export interface RequestObserver {
  requestStarted(): void;
  requestEnded(request: RequestState, method: string, path: string, status: number, seconds: number): void;
}

/** Several observers as one (metrics, usage metering); absent ones are skipped. */
export function observeAll(...observers: (RequestObserver | undefined)[]): RequestObserver | undefined {
  const present = observers.filter((o): o is RequestObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  return {
    requestStarted: () => present.forEach((o) => o.requestStarted()),
    requestEnded: (...args) => present.forEach((o) => o.requestEnded(...args)),
  };
}

export function trackRequests(logger: Logger, observer?: RequestObserver): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);
    const startedAt = process.hrtime.bigint();
    const state: RequestState = { requestId, log: { errorCodes: [] } };
    // A server span around this middleware (tracing) gives the request line its trace; else the first fetch does.
    noteTrace(state.log);
    observer?.requestStarted();
    res.once('close', () => {
      const status = res.statusCode;
      const durationMs = Number((process.hrtime.bigint() - startedAt) / 1000n) / 1000;
      observer?.requestEnded(state, req.method, req.path, status, durationMs / 1000);
      const fields = requestLineFields({
        requestId,
        method: req.method,
        path: req.path,
        status,
        durationMs,
        log: state.log,
        // Which application and release sent it, as Apollo Client announces them (never trusted, only logged).
        client: clientAwarenessOf((name) => req.get(name)),
        aborted: !res.writableFinished,
      });
      logger[requestLogLevel(req.path, status, state.log.errorCodes)]('request', fields);
    });
    attachRequestState(res, state);
    next();
  };
}

/** Every answer on /graphql is one tenant's, refusals included: no shared cache may keep it. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('cache-control', 'no-store');
  next();
};

/**
 * Query parameters that carry a credential: a key or token in a URL ends up in access logs, proxies and browser
 * history, so one there is refused (and the key should be considered leaked) even when the request is otherwise
 * well authenticated.
 */
const CREDENTIAL_PARAMETER = /^(?:x-)?(?:api[-_]?key|access[-_]?token|token|jwt|key|auth|authorization)$/i;

export const refuseCredentialsInUrl: RequestHandler = (req, res, next) => {
  const queryAt = req.originalUrl.indexOf('?');
  if (queryAt === -1) return next();
  for (const [name, value] of new URLSearchParams(req.originalUrl.slice(queryAt + 1))) {
    if (CREDENTIAL_PARAMETER.test(name) || containsCredential(value) || containsCredential(name)) {
      requestState(res).log.reason = 'credentials-in-url';
      return refuse(res, unauthenticated());
    }
  }
  next();
};

/** Client headers that claim a tenant; the tenant comes from the credential only, so a different claim is refused. */
const TENANT_HEADER = 'x-tenant-id';

/** Failed authentications counted per client address and per API key id (credentials/failure-limiter.ts). */
export interface FailedAuthenticationLimits {
  addresses: FailureLimiter;
  apiKeys: FailureLimiter;
}

function heldBack(res: Response, state: RequestState, reason: string, ms: number): void {
  state.log.reason = reason;
  refuse(
    res,
    gatewayError(ErrorCode.RATE_LIMITED, 'Too many failed authentications; try again later.', {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) },
    }),
  );
}

/**
 * Authenticates, then checks what the request says besides its credential against the tenant the credential
 * names: a conflicting tenant header, and (for browser pages) the origin.
 *
 * With `limits`, a client address that failed too often is held back: only a credential memory can vouch for (a
 * token or key this replica verified recently) is still accepted from it — so a caller sharing an address with an
 * attacker keeps working — and anything that would need a signature check or a read is answered 429 RATE_LIMITED
 * with Retry-After. An API key id whose secret was given wrong too often answers its failures 429 as well; its
 * right secret is never refused (key ids are public, and locking a partner out would be the attack).
 */
export function authenticateRequests(
  authenticate: Authenticator,
  logger: Logger,
  limits?: FailedAuthenticationLimits,
): RequestHandler {
  return async (req, res, next) => {
    const state = requestState(res);
    const client = limits ? clientKeyOf(req.socket.remoteAddress) : '';
    const heldBackMs = limits?.addresses.heldBackFor(client) ?? 0;
    try {
      const { caller, tenant } = await authenticate(
        { authorization: req.get('authorization'), apiKey: req.get('x-api-key') },
        heldBackMs > 0 ? { fromMemoryOnly: true } : undefined,
      );
      const claimed = req.get(TENANT_HEADER);
      if (claimed !== undefined && claimed !== caller.tenantId)
        throw new TenantAccessError(RefusalReason.TENANT_MISMATCH, caller);
      if (!originAllowedFor(tenant, req.get('origin'), req.get('host')))
        throw new TenantAccessError(RefusalReason.ORIGIN_NOT_ALLOWED, caller);
      // A developer's "view as" (preview-roles.ts): refused, never ignored, when the credential may not use it.
      const header = req.get(PREVIEW_ROLES_HEADER);
      let effective = caller;
      try {
        effective = previewCaller(caller, header);
      } catch (refusal) {
        if (!(refusal instanceof GraphQLError)) throw refusal;
        state.log.tenantId = caller.tenantId;
        state.log.principal = caller.principal;
        state.log.credential = credentialKind(caller);
        state.log.reason = 'preview-roles-refused';
        return refuse(res, refusal);
      }
      state.caller = effective;
      // The one lookup of the tenant for this request: every later step reads this snapshot (request.ts).
      state.tenant = tenant;
      state.log.tenantId = caller.tenantId;
      state.log.principal = caller.principal;
      state.log.credential = credentialKind(caller);
    } catch (error) {
      if (heldBackMs > 0 && (error instanceof AuthenticationError || error instanceof NotVerifiedFromMemoryError)) {
        return heldBack(res, state, 'address-held-back', heldBackMs);
      }
      if (error instanceof AuthenticationError) {
        if (limits) {
          const keyHeldBackMs = error.apiKeyId ? limits.apiKeys.heldBackFor(error.apiKeyId) : 0;
          if (keyHeldBackMs > 0) return heldBack(res, state, 'api-key-held-back', keyHeldBackMs);
          if (limits.addresses.recordFailure(client) > 0)
            logger.warn('client held back after failed authentications', { requestId: state.requestId, client });
          if (error.apiKeyId && limits.apiKeys.recordFailure(error.apiKeyId) > 0) {
            logger.warn('API key held back after failed authentications', {
              requestId: state.requestId,
              apiKeyId: error.apiKeyId,
            });
          }
        }
        state.log.reason = error.reason;
        if (error.keyOf) {
          state.log.credentialEvent = { tenantId: error.keyOf.tenantId, keyId: error.keyOf.id, reason: error.reason };
        }
        return refuse(res, unauthenticated());
      }
      if (error instanceof TenantAccessError) {
        // A tenant the directory does not have is read from the control plane on every request that names it: as
        // much a failed authentication as a made-up key.
        if (limits && error.refusal === RefusalReason.TENANT_UNKNOWN && limits.addresses.recordFailure(client) > 0) {
          logger.warn('client held back after failed authentications', { requestId: state.requestId, client });
        }
        state.log.tenantId = error.caller.tenantId;
        state.log.principal = error.caller.principal;
        state.log.credential = credentialKind(error.caller);
        state.log.reason = error.refusal;
        return refuse(res, error.toClientError());
      }
      if (error instanceof ControlPlaneUnavailableError || error instanceof KeySetUnavailableError) {
        state.log.reason = error.name;
        logger.error('credentials could not be checked', { requestId: state.requestId, error });
        return refuse(
          res,
          gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.', {
            headers: { 'retry-after': '1' },
          }),
        );
      }
      throw error;
    }
    next();
  };
}

export const onlyJson: RequestHandler = (req, res, next) => {
  if (req.is('application/json')) return next();
  refuse(res, gatewayError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'The request body must be application/json.'));
};

/** What a GraphQL-over-HTTP body may carry, and the JSON type each field must have when present. */
const BODY_FIELDS: Readonly<Record<string, 'string' | 'object'>> = {
  query: 'string',
  operationName: 'string',
  documentId: 'string',
  variables: 'object',
  extensions: 'object',
};

/**
 * Refuses a body that is not one GraphQL request (an array — a batch —, a scalar, or a known field of the wrong
 * type) with 400 BAD_REQUEST, before the persisted-operations stage and Apollo Server read it. Apollo Server would
 * refuse the same bodies, but outside its plugins, so the code would be missing from the request's log line; and
 * the stages after this one can rely on the field types. Unknown fields are left for Apollo Server to ignore, as
 * GraphQL over HTTP allows.
 */
export const wellFormedGraphQLBody: RequestHandler = (req, res, next) => {
  const problem = graphQLBodyProblem(req.body);
  if (problem === undefined) return next();
  requestState(res).log.reason = 'malformed-body';
  refuse(res, gatewayError(ErrorCode.BAD_REQUEST, problem));
};

export function graphQLBodyProblem(body: unknown): string | undefined {
  if (Array.isArray(body)) return 'Batched requests are not supported: send one operation per request.';
  if (typeof body !== 'object' || body === null) return 'The request body must be a JSON object.';
  for (const [field, type] of Object.entries(BODY_FIELDS)) {
    const value = (body as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    const ok = type === 'string' ? typeof value === 'string' : typeof value === 'object' && !Array.isArray(value);
    if (!ok) return `"${field}" must be ${type === 'string' ? 'a string' : 'a JSON object'}.`;
  }
  return undefined;
}

/**
 * Apollo Server's context (the Express integration calls it with `{ req, res }`); the middleware in front guarantees
 * a caller, and this refuses if it ever does not. Apollo answers a failed context without running any plugin, so
 * the refusal's code is noted in the log line here.
 */
export async function gatewayContext({ res }: { res: Response }): Promise<GatewayContext> {
  const state = requestStateOf(res);
  if (!state?.caller) {
    state?.log.errorCodes.push(ErrorCode.UNAUTHENTICATED);
    throw unauthenticated();
  }
  // The request context itself, not a copy — but Apollo Server hands its hooks and the data sources a shallow copy
  // of whatever this returns (ApolloServer's cloneObject): what the log line must see goes on `log`, which the copy
  // shares (request.ts, RequestLog).
  return state as GatewayContext;
}

export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: 'not found' });
};

/** body-parser reports its refusals as errors carrying `type` and `status`. */
function bodyParserFailure(error: unknown): { type: string; status: number } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status } = error as { type?: unknown; status?: unknown };
  return typeof type === 'string' && typeof status === 'number' ? { type, status } : undefined;
}

export function handleErrors(logger: Logger, maxBodyBytes: number): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const failure = bodyParserFailure(error);
    const state = requestStateOf(res);
    if (failure && failure.status < 500) {
      if (state) state.log.reason = failure.type;
      if (failure.type === 'entity.too.large') {
        return refuse(
          res,
          gatewayError(ErrorCode.PAYLOAD_TOO_LARGE, `The request body exceeds ${maxBodyBytes} bytes.`),
        );
      }
      if (failure.type === 'encoding.unsupported' || failure.type === 'charset.unsupported') {
        return refuse(res, gatewayError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'The request body must be UTF-8 JSON.'));
      }
      return refuse(res, gatewayError(ErrorCode.BAD_REQUEST, 'The request body could not be read as JSON.'));
    }
    logger.error('unhandled error', { requestId: state?.requestId, error });
    refuse(res, gatewayError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error'));
  };
}

/** `express.json`'s `verify` hook: notes how many bytes the body had as read, chunked or not, for the plan's limit. */
export function recordBodyBytes(_req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  (res as Response).locals.bodyBytes = body.length;
}

/**
 * The caller's plan (the tenant snapshot's) may allow less than the gateway-wide body limit express.json enforces;
 * this refuses what is over the plan (413) before the body is parsed into an operation.
 */
export function bodyWithinPlan(): RequestHandler {
  return (_req, res, next) => {
    const state = requestState(res);
    const bytes: unknown = res.locals.bodyBytes;
    if (state.caller && typeof bytes === 'number') {
      try {
        assertBodyWithinPlan(bytes, tenantOf(state).plan.limits);
      } catch (error) {
        if (error instanceof GraphQLError) return refuse(res, error);
        throw error;
      }
    }
    next();
  };
}
