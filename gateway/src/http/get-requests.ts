/**
 * GET on /graphql, for persisted queries only: what Apollo Client sends with `createPersistedQueryLink({
 * useGETForHashedQueries: true })` — `?operationName=…&variables={…}&extensions={"persistedQuery":{"version":1,
 * "sha256Hash":"…"}}` — or `?documentId=…` (the GraphQL-over-HTTP persisted documents draft).
 *
 * What a GET may not do, and why:
 * - Carry query text (`?query=`): refused with PERSISTED_QUERY_ID_REQUIRED. A document in a URL lands in access
 *   logs, proxies and browser history, is length-limited by every hop, and a GET that registered an APQ text would
 *   be a write by a method that should be safe. Apollo Client GETs hashed queries only; a hash the gateway does not
 *   know answers PERSISTED_QUERY_NOT_FOUND and the client retries by POST with the text.
 * - Run a mutation: Apollo Server refuses a non-query operation by GET (405, BAD_REQUEST, `Allow: POST`) once the
 *   document is parsed, before any pipeline stage, so a refused mutation is neither authorized, charged nor run.
 * - Skip CSRF prevention: a "simple" GET (no preflight) from another site's page could run a query, so a GET must
 *   carry `content-type: application/json` (Apollo Client Web always sends it) or a non-empty
 *   `apollo-require-preflight` / `x-apollo-operation-name` header — either forces the browser to preflight, and the
 *   preflight is answered only for tenants' origins (cors.ts). Any other content type is 415, as Apollo Server 5.5.
 * - Carry a body: a GET's request is its query string.
 *
 * The query string's JSON is parsed here into the same `{ operationName, variables, extensions, documentId }` body a
 * POST has, so every later step — the plan's size limit (counted on the query string's bytes), the JSON depth
 * bound, the body's shape, persisted resolution — applies to it unchanged. Every answer stays `no-store`
 * (guards.ts): it belongs to the caller's tenant.
 */
import type { Request, RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import { ErrorCode, gatewayError } from '../errors';
import { requestStateOf } from '../request';
import { refuse } from './guards';

/** The methods /graphql answers, for `Allow` and the preflight. */
export const GRAPHQL_METHODS: readonly string[] = ['GET', 'POST'];

/** The headers Apollo Server's CSRF prevention accepts as proof that the browser preflighted the request. */
export const CSRF_PREFLIGHT_HEADERS: readonly string[] = ['apollo-require-preflight', 'x-apollo-operation-name'];

/** The query-string parameters a GET may carry; anything else is ignored, as GraphQL over HTTP allows. */
const PARAMETERS = ['operationName', 'variables', 'extensions', 'documentId', 'query'] as const;
const JSON_PARAMETERS: ReadonlySet<string> = new Set(['variables', 'extensions']);

function noteReason(res: Response, reason: string): void {
  const state = requestStateOf(res);
  if (state) state.log.reason = reason;
}

/** 405 for anything but GET and POST (OPTIONS is answered by cors.ts before this). */
export const onlyGetOrPost: RequestHandler = (req, res, next) => {
  if (GRAPHQL_METHODS.includes(req.method)) return next();
  refuse(
    res,
    gatewayError(ErrorCode.BAD_REQUEST, 'Only GET (persisted queries) and POST are supported.', {
      status: 405,
      headers: { allow: GRAPHQL_METHODS.join(', ') },
    }),
  );
};

function contentEssence(req: Request): string | undefined {
  const type = req.get('content-type');
  return type === undefined ? undefined : (type.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * Before authentication, so a request a browser could have sent from any site costs nothing: refuses a GET that
 * did not force a preflight (400 BAD_REQUEST), one with a content type other than JSON (415), and one with a body.
 */
export const safeGet: RequestHandler = (req, res, next) => {
  if (req.method !== 'GET') return next();
  const essence = contentEssence(req);
  if (essence !== undefined && essence !== 'application/json') {
    noteReason(res, 'get-content-type');
    return refuse(
      res,
      gatewayError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'A GET request may only have content-type application/json.'),
    );
  }
  const preflighted = essence !== undefined || CSRF_PREFLIGHT_HEADERS.some((name) => (req.get(name) ?? '').length > 0);
  if (!preflighted) {
    noteReason(res, 'get-csrf');
    return refuse(
      res,
      gatewayError(
        ErrorCode.BAD_REQUEST,
        `This GET could be a cross-site request forgery: send content-type application/json or a non-empty ${CSRF_PREFLIGHT_HEADERS.join(' or ')} header.`,
      ),
    );
  }
  const length = req.get('content-length');
  if ((length !== undefined && length !== '0') || req.get('transfer-encoding') !== undefined) {
    noteReason(res, 'get-with-body');
    return refuse(
      res,
      gatewayError(ErrorCode.BAD_REQUEST, 'A GET request carries its operation in the query string, not a body.'),
    );
  }
  next();
};

/**
 * The body a GET stands for, read from its query string, or the refusal. `search` is the raw query string
 * (without `?`).
 */
export function getRequestBody(search: string): Record<string, unknown> {
  const params = new URLSearchParams(search);
  const body: Record<string, unknown> = {};
  for (const name of PARAMETERS) {
    const values = params.getAll(name);
    if (values.length === 0) continue;
    if (values.length > 1) throw gatewayError(ErrorCode.BAD_REQUEST, `"${name}" may be given once.`);
    const [value] = values as [string];
    if (!JSON_PARAMETERS.has(name)) {
      body[name] = value;
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw gatewayError(ErrorCode.BAD_REQUEST, `"${name}" must be URL-encoded JSON.`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw gatewayError(ErrorCode.BAD_REQUEST, `"${name}" must be a JSON object.`);
    }
    body[name] = parsed;
  }
  if (body.query !== undefined) {
    throw gatewayError(
      ErrorCode.PERSISTED_QUERY_ID_REQUIRED,
      'A GET request names a persisted query by its id; send query text by POST.',
    );
  }
  const extensions = body.extensions as Record<string, unknown> | undefined;
  if (body.documentId === undefined && (extensions === undefined || !('persistedQuery' in extensions))) {
    throw gatewayError(
      ErrorCode.PERSISTED_QUERY_ID_REQUIRED,
      'A GET request must name a persisted query (extensions.persistedQuery or documentId).',
    );
  }
  return body;
}

/**
 * After authentication, where a POST's body is read: turns a GET's query string into the body, and notes its bytes
 * for the plan's size limit (guards.ts, bodyWithinPlan). POSTs go on untouched.
 */
export const readGetRequest: RequestHandler = (req, res, next) => {
  if (req.method !== 'GET') return next();
  const queryAt = req.originalUrl.indexOf('?');
  const search = queryAt === -1 ? '' : req.originalUrl.slice(queryAt + 1);
  try {
    req.body = getRequestBody(search);
  } catch (error) {
    if (!(error instanceof GraphQLError)) return next(error);
    noteReason(res, 'get-parameters');
    return refuse(res, error);
  }
  res.locals.bodyBytes = Buffer.byteLength(search);
  next();
};

/** `handler` for POSTs only: the JSON body checks (content type, parser) have nothing to read on a GET. */
export function forPosts(handler: RequestHandler): RequestHandler {
  return (req, res, next) => (req.method === 'POST' ? handler(req, res, next) : next());
}
