/**
 * One subgraph as the gateway sees it. Every fetch carries a freshly minted internal token (common/internal-token.ts)
 * that names this subgraph, the caller's tenant and the exact query, so a subgraph trusts the gateway's word about
 * the tenant and nobody else's. Nothing a client sent is forwarded: @apollo/gateway builds subgraph requests from
 * scratch, and the only header added here is ours.
 *
 * Failures are answered with a code and a generic message; what actually happened goes to the log.
 */
import { randomUUID } from 'node:crypto';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GraphQLError } from 'graphql';
import {
  DEFAULT_TOKEN_TTL_MS,
  INTERNAL_TOKEN_HEADER,
  hashQuery,
  mintInternalToken,
  type InternalClaims,
} from '../../../common/internal-token';
import type { Logger } from '../../../common/logger';
import { ErrorCode, gatewayError } from '../errors';
import type { GatewayContext } from '../pipeline';
import type { Fetcher } from './fetcher';

export interface SubgraphDataSourceOptions {
  name: string;
  url: string;
  /** This subgraph's key, `deriveSubgraphKey(gatewaySecret, name)`. */
  key: Buffer;
  fetcher: Fetcher;
  logger: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

type FetchResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0];

export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly subgraph: string;
  private readonly key: Buffer;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(options: SubgraphDataSourceOptions) {
    // A subgraph's Cache-Control must not make a tenant's response cacheable by a shared cache on the way back.
    super({ url: options.url, fetcher: options.fetcher, honorSubgraphCacheControlHeader: false });
    this.subgraph = options.name;
    this.key = options.key;
    this.log = options.logger.child({ subgraph: options.name });
    this.now = options.now ?? Date.now;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const { request } = options;
    if (!request.http || !request.query) throw new Error('subgraph request without HTTP head or query');
    const iat = this.now();
    const common = { aud: this.subgraph, qh: queryHash(request.query), iat, exp: iat + DEFAULT_TOKEN_TTL_MS };
    let claims: InternalClaims;
    if ('incomingRequestContext' in options) {
      // The context type promises a caller, but a request that reached here without one must fail closed: an
      // `op` token is the subgraph's only evidence of who is asking.
      const context: Partial<GatewayContext> | undefined = options.context;
      const caller = context?.caller;
      if (!caller || !context?.requestId) throw new Error('refusing to call a subgraph without an authenticated caller');
      claims = {
        ...common,
        kind: 'op',
        ten: caller.tenantId,
        sub: caller.principal,
        roles: [...caller.roles],
        rid: context.requestId,
      };
    } else {
      // Health checks and schema loading act for no tenant; subgraphs answer such tokens only for
      // `__typename` and `_service`.
      claims = { ...common, kind: 'svc', ten: '', sub: '', roles: [], rid: `svc-${randomUUID()}` };
    }
    request.http.headers.set(INTERNAL_TOKEN_HEADER, mintInternalToken(this.key, claims));
  }

  /**
   * The default puts the subgraph's URL, status and raw body into `extensions.response`. The body is drained so
   * the keep-alive connection can be reused, and dropped: `didEncounterError` decides what the client sees.
   */
  override async errorFromResponse(response: FetchResponse): Promise<GraphQLError> {
    await response.arrayBuffer().catch(() => undefined);
    return downstreamError();
  }

  /** Every failure of a fetch ends here (network, timeout, non-2xx, unparsable body); it must throw. */
  override didEncounterError(
    error: Error,
    _fetchRequest: unknown,
    fetchResponse?: FetchResponse,
    context?: Partial<GatewayContext>,
  ): void {
    const timedOut = error.name === 'TimeoutError' || error.name === 'AbortError';
    this.log.warn('subgraph fetch failed', {
      requestId: context?.requestId,
      tenant: context?.caller?.tenantId,
      status: fetchResponse?.status,
      reason: timedOut ? 'timeout' : describeFailure(error),
    });
    throw timedOut
      ? gatewayError(ErrorCode.SUBGRAPH_TIMEOUT, 'A downstream service timed out')
      : downstreamError();
  }
}

function downstreamError(): GraphQLError {
  return gatewayError(ErrorCode.DOWNSTREAM_SERVICE_ERROR, 'A downstream service failed');
}

/** `fetch failed` says nothing; the cause (ECONNREFUSED, ECONNRESET, …) does. */
function describeFailure(error: Error): string {
  const cause: unknown = error.cause;
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') return cause.code;
  // Some messages quote the subgraph's answer (an HTML error page, say): enough to diagnose, not the whole page.
  return error.message.slice(0, 200);
}

/**
 * The gateway sends the same few plan queries over and over; hashing them once saves a SHA-256 per fetch. Oldest
 * entries go first when full — a hot query evicted is simply hashed again.
 */
const QUERY_HASH_CACHE_SIZE = 1_000;
const queryHashes = new Map<string, string>();

function queryHash(query: string): string {
  let hash = queryHashes.get(query);
  if (hash === undefined) {
    hash = hashQuery(query);
    if (queryHashes.size >= QUERY_HASH_CACHE_SIZE) {
      const oldest = queryHashes.keys().next();
      if (!oldest.done) queryHashes.delete(oldest.value);
    }
    queryHashes.set(query, hash);
  }
  return hash;
}
