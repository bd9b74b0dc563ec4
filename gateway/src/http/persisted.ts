/**
 * The persisted-operations stage: turns an operation id into the operation's text before Apollo Server parses
 * anything, and decides which texts a caller may send at all.
 *
 * - API keys (partners) run only operations of their key's manifest, named by id (`extensions.persistedQuery
 *   .sha256Hash` or a top-level `documentId`). A query text, and an APQ registration (id and text), are refused
 *   with PERSISTED_QUERY_ID_REQUIRED; an id outside the manifest with PERSISTED_QUERY_NOT_IN_LIST. Hashes ship in
 *   client bundles, so knowing one — another partner's, a frontend's — is no permission.
 * - JWTs (frontends) get APQ (persisted/apq.ts, per tenant), then the tenant's safelist mode: `off`, `log-unknown` (logs texts
 *   outside the tenant's frontend manifest), `enforce` (refuses them with PERSISTED_QUERY_NOT_IN_LIST).
 *
 * It runs as Express middleware after the body is read and rewrites the body to a plain `{ query, … }` request.
 * Apollo Server has `persistedQueries: false`, so a body that still carried `extensions.persistedQuery` past this
 * stage would be refused by Apollo (PERSISTED_QUERY_NOT_SUPPORTED) rather than resolved behind its back; and
 * `documentId` means nothing to Apollo. The text resolved here is then parsed, validated and run through limits,
 * authorization and cost like any other: a persisted operation is still authorized and charged.
 */
import type { RequestHandler } from 'express';
import { GraphQLError } from 'graphql';
import type { Logger } from '../../../common/logger';
import { ErrorCode, gatewayError } from '../errors';
import { refuse } from './guards';
import type { ApqStore } from '../persisted/apq';
import type { ManifestCatalog } from '../persisted/catalog';
import { FRONTEND_MANIFEST, isOperationId, operationId } from '../persisted/manifest';
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';
import type { SafelistMode } from '../tenants/tenant';
import { requestStateOf, type Caller } from '../request';

export interface PersistedStageOptions {
  manifests: ManifestCatalog;
  apq: ApqStore;
  /** For callers without a tenant snapshot (tests); the middleware uses the snapshot authentication took. */
  safelistModeFor?: (tenantId: string) => SafelistMode;
  logger: Logger;
}

type Body = Record<string, unknown>;

/** Accepted as `documentId`: the bare hex digest, or prefixed as in the GraphQL-over-HTTP persisted documents draft. */
const DOCUMENT_ID_PREFIX = 'sha256:';

/** Apollo's APQ answers carry this, so no cache between client and gateway keeps a "not found". */
const NO_CACHE = { 'cache-control': 'private, no-cache, must-revalidate' };

const idRequired = (message: string) => gatewayError(ErrorCode.PERSISTED_QUERY_ID_REQUIRED, message);
const notInList = () =>
  gatewayError(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, 'The operation is not in the persisted operation list.');

/**
 * The id the request names, if any. Both spellings may be sent, but then they must agree; anything that names an
 * id but is not a SHA-256 hex digest is a malformed request.
 */
export function requestedOperationId(body: Body): string | undefined {
  const ids: string[] = [];
  const extensions = body.extensions;
  if (typeof extensions === 'object' && extensions !== null && 'persistedQuery' in extensions) {
    const persisted = (extensions as Body).persistedQuery;
    const { version, sha256Hash } = (typeof persisted === 'object' && persisted !== null ? persisted : {}) as Body;
    if (version !== 1) throw gatewayError(ErrorCode.BAD_REQUEST, 'Unsupported persisted query version.');
    ids.push(String(sha256Hash));
  }
  if (body.documentId !== undefined && body.documentId !== null) {
    const documentId = String(body.documentId);
    ids.push(documentId.startsWith(DOCUMENT_ID_PREFIX) ? documentId.slice(DOCUMENT_ID_PREFIX.length) : documentId);
  }
  const [id] = ids;
  if (id === undefined) return undefined;
  if (!ids.every(isOperationId))
    throw gatewayError(ErrorCode.BAD_REQUEST, 'A persisted operation id is the SHA-256 (hex) of the operation.');
  if (ids.some((other) => other !== id))
    throw gatewayError(ErrorCode.BAD_REQUEST, 'documentId and extensions.persistedQuery name different operations.');
  return id;
}

/** The body Apollo Server gets: the resolved text, and neither id field. */
function withQuery(body: Body, query: string): Body {
  const { documentId: _documentId, extensions, ...rest } = body;
  const { persistedQuery: _persistedQuery, ...otherExtensions } = (
    typeof extensions === 'object' && extensions !== null ? extensions : {}
  ) as Body;
  return { ...rest, query, ...(Object.keys(otherExtensions).length > 0 ? { extensions: otherExtensions } : {}) };
}

const hasQuery = (body: Body) => body.query !== undefined && body.query !== null;

/**
 * Resolves one request body for `caller`: returns the body Apollo Server should get, or throws the refusal.
 * Bodies that are not a single JSON object never get here (http.ts, wellFormedGraphQLBody); should one, it is returned
 * untouched and Apollo Server refuses it.
 */
export async function resolvePersistedRequest(
  body: unknown,
  caller: Caller,
  requestId: string,
  options: PersistedStageOptions,
  safelistMode?: SafelistMode,
  /** Told whether the operation came from a list (a manifest, the safelist): `operationListed` is set on it. */
  listed?: { operationListed?: boolean },
): Promise<unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const request = body as Body;
  const id = requestedOperationId(request);

  if (caller.credential === 'apiKey') {
    if (id === undefined)
      throw idRequired('API keys run persisted operations only: send the operation id, not its text.');
    if (hasQuery(request)) throw idRequired('API keys cannot register operations: send the operation id alone.');
    const manifest = caller.manifest
      ? await options.manifests.manifestFor(caller.tenantId, caller.manifest)
      : undefined;
    const operation = manifest?.operations.get(id);
    if (!operation) throw notInList();
    if (listed) listed.operationListed = true;
    return withQuery(request, operation.body);
  }

  // Without the tenant's own mode, the strictest: fail closed.
  const mode = safelistMode ?? options.safelistModeFor?.(caller.tenantId) ?? 'enforce';
  const frontend = () => options.manifests.manifestFor(caller.tenantId, FRONTEND_MANIFEST);
  let query: string;
  /** Set when the request registers its text under its id (APQ). */
  let registerAs: string | undefined;
  if (id === undefined) {
    if (mode === 'off' || typeof request.query !== 'string') return body;
    query = request.query;
  } else if (hasQuery(request)) {
    if (typeof request.query !== 'string' || operationId(request.query) !== id) {
      throw gatewayError(ErrorCode.BAD_REQUEST, 'The persisted query hash does not match the query.');
    }
    query = request.query;
    registerAs = id;
  } else {
    const listed = mode === 'off' ? undefined : (await frontend()).operations.get(id)?.body;
    if (listed === undefined && mode === 'enforce') throw notInList();
    const found = listed ?? (await options.apq.lookup(caller.tenantId, id));
    if (found === undefined)
      throw gatewayError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, 'PersistedQueryNotFound', { headers: NO_CACHE });
    query = found;
  }

  const onList = mode !== 'off' && (await frontend()).operations.has(operationId(query));
  if (onList && listed) listed.operationListed = true;
  if (mode !== 'off' && !onList) {
    if (mode === 'enforce') throw notInList();
    options.logger.info('operation outside the frontend safelist', {
      requestId,
      tenant: caller.tenantId,
      operationId: operationId(query),
      ...(typeof request.operationName === 'string' ? { operationName: request.operationName } : {}),
    });
  }
  // Only after the safelist: in enforce mode nothing outside the list is ever stored.
  if (registerAs) await options.apq.register(caller.tenantId, registerAs, query);
  return withQuery(request, query);
}

export function resolvePersistedOperations(options: PersistedStageOptions): RequestHandler {
  return async (req, res, next) => {
    const state = requestStateOf(res);
    if (!state?.caller || !state.tenant) return next(new Error('resolvePersistedOperations runs after authentication'));
    try {
      req.body = await resolvePersistedRequest(
        req.body,
        state.caller,
        state.requestId,
        options,
        state.tenant.safelistMode,
        state.log,
      );
    } catch (error) {
      if (error instanceof GraphQLError) {
        state.log.reason = 'persisted-operation';
        return refuse(res, error);
      }
      if (error instanceof ControlPlaneUnavailableError) {
        state.log.reason = error.name;
        options.logger.error('persisted operations could not be read', { requestId: state.requestId, error });
        return refuse(
          res,
          gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.', {
            headers: { 'retry-after': '1' },
          }),
        );
      }
      return next(error);
    }
    next();
  };
}
