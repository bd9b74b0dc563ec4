/**
 * One subgraph as the gateway sees it. Every fetch carries a freshly minted internal token (common/internal-token.ts)
 * that names this subgraph, the caller's tenant and the exact query, so a subgraph trusts the gateway's word about
 * the tenant and nobody else's. Nothing a client sent is forwarded: @apollo/gateway builds subgraph requests from
 * scratch, and the only header added here is ours.
 *
 * Failures are answered with a code and a generic message; what actually happened goes to the log. An operation's
 * failed fetch answers errors with the paths of the fields it left null (fetch-failure.ts), and goes through the
 * subgraph's circuit breaker (circuit-breaker.ts): while it is open, the fetch fails at once and nothing is sent.
 * With deduplication on (dedupe.ts), a query fetch identical to one in flight for the same caller waits for that
 * fetch's answer instead of being sent, and parses its own copy of it.
 */
import { randomUUID } from 'node:crypto';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Tracer } from '@opentelemetry/api';
import {
  DEFAULT_TOKEN_TTL_MS,
  INTERNAL_TOKEN_HEADER,
  hashQuery,
  mintInternalToken,
  type InternalClaims,
} from '../../../common/internal-token';
import { noteTrace, type Logger } from '../../../common/logger';
import { createByteBoundedCache, stringBytes } from '../cache';
import { ErrorCode, DownstreamReason, gatewayError } from '../errors';
import type { GatewayContext, RequestLog } from '../request';
import { isRecorded, traceFetch } from '../tracing/spans';
import { notAdmitted, pendingAdmissionOf } from './admission';
import type { CircuitBreaker } from './circuit-breaker';
import { dedupeKey, operationKind, type SubgraphDedupe } from './dedupe';
import { failedFetchResult, type FetchFailure } from './fetch-failure';
import type { SubgraphAnswer, SubgraphPoster } from './fetcher';

export interface SubgraphDataSourceOptions {
  name: string;
  url: string;
  /** This subgraph's key, `deriveSubgraphKey(gatewaySecret, name)`. */
  key: Buffer;
  post: SubgraphPoster;
  /**
   * Milliseconds the subgraph has for each request, from when it is sent (upstream/deadline.ts): carried inside the
   * token as an absolute deadline, so the subgraph bounds its database work by it and starts nothing after it.
   */
  deadlineMs?: number;
  logger: Logger;
  /**
   * This subgraph's breaker. Only operations go through it: health checks and schema loading are neither refused
   * nor counted, so readiness reports the subgraph as it is and a failing probe is not counted twice.
   */
  breaker?: CircuitBreaker;
  /** Clock, for tests. */
  now?: () => number;
  /** Told of every operation fetch that was sent, with its HTTP status (none: no answer) and duration. */
  fetchMetrics?: SubgraphFetchMetrics;
  /**
   * Tracing on: each operation fetch of a recorded request in a `tollgate.fetch` span whose W3C context goes with it
   * (`traceparent`), so the subgraph's server span is its child (tracing/spans.ts, `traceFetch`). Absent: nothing.
   */
  tracer?: Tracer | undefined;
  /**
   * Deduplication of identical in-flight queries (dedupe.ts), one map shared by every subgraph's data source; absent:
   * every fetch is sent. `waitMs`: how long a follower waits for the shared answer from when it joins — the subgraph
   * timeout, so that it fails no sooner than its own fetch would have.
   */
  dedupe?: { flights: SubgraphDedupe<SubgraphAnswer>; waitMs: number } | undefined;
}

/** What the metrics want of a subgraph fetch (metrics/gateway-metrics.ts). */
export interface SubgraphFetchMetrics {
  /** One subgraph's recorder, asked for once when its data source is made: its series are resolved there. */
  of(subgraph: string): SubgraphFetchRecorder;
}

export interface SubgraphFetchRecorder {
  /** Once per operation fetch sent, with its HTTP status (none: no answer) and duration. */
  observe(status: number | undefined, seconds: number): void;
  /** Once per operation fetch answered by another request's fetch (dedupe.ts) instead of being sent. */
  deduplicated(): void;
}

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type SubgraphResponse = Awaited<ReturnType<GraphQLDataSource<GatewayContext>['process']>>;

/** GraphQL over HTTP answers in one of these; anything else (an HTML error page from a proxy, say) is a failure. */
const JSON_MEDIA_TYPES = /^application\/(?:json|graphql-response\+json)\b/i;

/**
 * Implements @apollo/gateway's data-source interface directly rather than extending RemoteGraphQLDataSource, which
 * builds a node-fetch Headers and Request per fetch that nothing here reads: the request is one JSON string, two
 * headers and the token, the answer one JSON parse.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly subgraph: string;
  private readonly url: string;
  private readonly key: Buffer;
  private readonly post: SubgraphPoster;
  private readonly deadlineMs: number | undefined;
  private readonly log: Logger;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly now: () => number;
  private readonly fetchMetrics: SubgraphFetchRecorder | undefined;
  private readonly tracer: Tracer | undefined;
  private readonly dedupe: SubgraphDataSourceOptions['dedupe'];

  constructor(options: SubgraphDataSourceOptions) {
    this.subgraph = options.name;
    this.url = options.url;
    this.key = options.key;
    this.post = options.post;
    this.deadlineMs = options.deadlineMs;
    this.log = options.logger.child({ subgraph: options.name });
    this.breaker = options.breaker;
    this.now = options.now ?? Date.now;
    this.fetchMetrics = options.fetchMetrics?.of(options.name);
    this.tracer = options.tracer;
    this.dedupe = options.dedupe;
  }

  async process(options: ProcessOptions): Promise<SubgraphResponse> {
    const { query, variables, operationName } = options.request;
    if (!query) throw new Error('subgraph request without a query');
    // The operation's admission may still be in flight (the quota's read, the budget's reservation): nothing is
    // sent, joined or even signed before it is decided (admission.ts).
    const admission = pendingAdmissionOf(options);
    if (admission) {
      const refusal = await admission.decision;
      if (refusal) return notAdmitted(refusal);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [INTERNAL_TOKEN_HEADER]: this.internalToken(options, query),
    };
    const body = JSON.stringify({ query, variables, operationName });
    // Only operations carry a caller; health checks and schema loading act for no request.
    const operation = 'incomingRequestContext' in options;
    const context: Partial<GatewayContext> | undefined = operation ? options.context : undefined;
    const kind = operation && this.dedupe ? operationKind(query) : undefined;
    const key = kind === 'query' ? this.dedupeKeyOf(options, body) : undefined;
    // A follower sends nothing: no permit, no breaker count (the leader's fetch is the one the breaker sees). Only
    // while the breaker is closed: open or probing, every fetch fails at once as the breaker's contract says, rather
    // than waiting on a probe or on a fetch sent before it opened.
    const following = key !== undefined && (!this.breaker || this.breaker.state() === 'closed');
    const flight = following ? this.dedupe!.flights.follow(key, this.dedupe!.waitMs) : undefined;
    const permit = operation && !flight ? this.breaker?.tryAcquire() : undefined;
    if (operation && !flight && this.breaker && !permit) {
      // Each refusal is one line at debug level: the breaker's opening is the warning, and an outage must not
      // turn every request into a warning too.
      this.log.debug('subgraph fetch not sent: circuit open', {
        requestId: context?.requestId,
        tenant: context?.caller?.tenantId,
      });
      return failedFetchResult(query, variables, CIRCUIT_OPEN);
    }
    // A request the sampler dropped sends as with tracing off: no span, no wrapper.
    const tracer = this.tracer && operation && isRecorded(context) ? this.tracer : undefined;
    const http = () => this.post({ url: this.url, headers, body });
    const traced = tracer ? () => traceFetch(tracer, this.subgraph, context, headers, http) : http;
    // The leader registers its fetch for followers; the fetch is the same whoever waits on it.
    const send = key === undefined ? traced : () => this.dedupe!.flights.lead(key, traced);
    const post = flight
      ? tracer
        ? () => traceFetch(tracer, this.subgraph, context, undefined, () => flight)
        : () => flight
      : send;
    let answer: SubgraphAnswer | undefined;
    let result: unknown;
    try {
      // The request log, shared by reference (request.ts says why the context itself is not).
      const log = context?.log;
      if (log) {
        const started = performance.now();
        waitBegins(log, started);
        if (flight) log.subgraphFetchesDeduplicated = (log.subgraphFetchesDeduplicated ?? 0) + 1;
        // Counted when it joins: the fetch it saved is known now (the histogram below times fetches sent).
        if (flight) this.fetchMetrics?.deduplicated();
        try {
          answer = await post();
        } finally {
          const ended = performance.now();
          waitEnds(log, ended);
          if (!flight) this.fetchMetrics?.observe(answer?.statusCode, (ended - started) / 1000);
        }
      } else {
        answer = await post();
      }
      if (answer.statusCode < 200 || answer.statusCode >= 300) throw new Error(`status ${answer.statusCode}`);
      // What a failed answer said goes nowhere: it may be anything, an HTML page from a proxy included.
      if (!JSON_MEDIA_TYPES.test(answer.contentType)) throw new Error('the answer is not JSON');
      result = JSON.parse(answer.body);
      if (typeof result !== 'object' || result === null || Array.isArray(result))
        throw new Error('the answer is not a JSON object');
      if (!wellFormedData(result, variables)) throw new Error('the answer does not answer the request');
    } catch (error) {
      this.settled(kind, context);
      // A 3xx or 4xx is the subgraph refusing this one request (too large, say): it is up, so the breaker counts
      // nothing. Timeouts, connection errors, 5xx and malformed answers are what a sick subgraph looks like.
      const status = answer?.statusCode;
      if (status !== undefined && status >= 300 && status < 500) permit?.release();
      else permit?.failure();
      const failure = this.failure(error, status, context, flight !== undefined);
      if (!operation) throw gatewayError(failure.code, failure.message);
      return failedFetchResult(query, variables, failure);
    }
    this.settled(kind, context);
    // An answer with GraphQL errors in it is still an answer: client-caused errors are not the subgraph's ill health.
    permit?.success();
    return result as SubgraphResponse;
  }

  /**
   * The deduplication key of a query fetch (dedupe.ts), or `undefined` when it must be sent: only for a client
   * operation that is a query — the reads of a mutation's plan come after its write and must see it — and with
   * everything the internal token names but the request id (internalToken checked the caller and placement).
   */
  private dedupeKeyOf(options: ProcessOptions, body: string): string | undefined {
    if (!('incomingRequestContext' in options)) return undefined;
    if (options.incomingRequestContext.operation?.operation !== 'query') return undefined;
    const context: Partial<GatewayContext> | undefined = options.context;
    const caller = context?.caller;
    const tenant = context?.tenant;
    if (!caller || !tenant) return undefined;
    return dedupeKey({
      subgraph: this.subgraph,
      tenant: caller.tenantId,
      tier: tenant.isolation,
      epoch: tenant.placementEpoch,
      principal: caller.principal,
      roles: caller.roles,
      generation: this.dedupe!.flights.generation(caller.tenantId),
      body,
    });
  }

  /**
   * A write settled, whatever its outcome (it may have applied): later reads of its tenant do not join flights that
   * began before it (dedupe.ts, read-your-writes).
   */
  private settled(kind: string | undefined, context: Partial<GatewayContext> | undefined): void {
    if (kind === 'mutation' && context?.caller) this.dedupe!.flights.writeSettled(context.caller.tenantId);
  }

  /**
   * The token for one fetch: names this subgraph, the exact query, and — for an operation — the caller's tenant,
   * principal and roles. Health checks and schema loading get a tenant-less `svc` token, which subgraphs answer only
   * for `__typename` and `_service`.
   */
  internalToken(options: ProcessOptions, query: string): string {
    const iat = this.now();
    const exp = iat + DEFAULT_TOKEN_TTL_MS;
    const dl = this.deadlineMs === undefined ? undefined : iat + Math.min(this.deadlineMs, DEFAULT_TOKEN_TTL_MS);
    const qh = queryHash(query);
    let claims: InternalClaims;
    // Built field by field, not spread from a shared part: this runs for every subgraph fetch.
    if ('incomingRequestContext' in options) {
      // The context type promises a caller, but a request that reached here without one must fail closed: an
      // `op` token is the subgraph's only evidence of who is asking.
      const context: Partial<GatewayContext> | undefined = options.context;
      const caller = context?.caller;
      if (!caller || !context?.requestId)
        throw new Error('refusing to call a subgraph without an authenticated caller');
      // The tenant's placement comes from the snapshot authentication took (never from the client): a silo
      // tenant's request placed as pooled would write to the shared collections, so none is sent without it.
      const tenant = context.tenant;
      if (!tenant || tenant.id !== caller.tenantId)
        throw new Error("refusing to call a subgraph without the caller's tenant placement");
      claims = {
        kind: 'op',
        aud: this.subgraph,
        ten: caller.tenantId,
        sub: caller.principal,
        roles: caller.roles,
        qh,
        rid: context.requestId,
        iat,
        exp,
        dl,
        plc: { tier: tenant.isolation, epoch: tenant.placementEpoch },
      };
    } else {
      claims = {
        kind: 'svc',
        aud: this.subgraph,
        ten: '',
        sub: '',
        roles: [],
        qh,
        rid: `svc-${randomUUID()}`,
        iat,
        exp,
        dl,
      };
    }
    return mintInternalToken(this.key, claims);
  }

  /** Every failure of a fetch ends here (network, timeout, non-2xx, unparsable body): logged, then masked. */
  private failure(
    error: unknown,
    status: number | undefined,
    context: Partial<GatewayContext> | undefined,
    deduplicated: boolean,
  ): FetchFailure {
    // By name: the deadline's DOMException need not be an Error of this realm.
    const name = typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    this.log.error('subgraph fetch failed', {
      requestId: context?.requestId,
      tenant: context?.caller?.tenantId,
      status,
      reason: timedOut ? 'timeout' : describeFailure(error),
      ...(deduplicated ? { deduplicated: true } : {}),
    });
    return timedOut ? TIMED_OUT : FAILED;
  }
}

/**
 * The request's wait on subgraphs, as the union of its fetches' intervals: a fetch that starts while another is in
 * flight adds nothing until the last one ends. Plain fields on the request's log, no allocation per fetch; the
 * request line's fetch count and trace ids are noted here too.
 */
function waitBegins(log: RequestLog, now: number): void {
  log.subgraphFetches = (log.subgraphFetches ?? 0) + 1;
  // Inside Apollo's `gateway.fetch` span when tracing is on: the request line joins this trace.
  noteTrace(log);
  const inFlight = log.subgraphsInFlight ?? 0;
  if (inFlight === 0) log.subgraphWaitSince = now;
  log.subgraphsInFlight = inFlight + 1;
}

function waitEnds(log: RequestLog, now: number): void {
  const inFlight = (log.subgraphsInFlight ?? 1) - 1;
  log.subgraphsInFlight = inFlight;
  if (inFlight === 0) log.subgraphWaitMs = (log.subgraphWaitMs ?? 0) + (now - (log.subgraphWaitSince ?? now));
}

const FAILED: FetchFailure = { code: ErrorCode.DOWNSTREAM_SERVICE_ERROR, message: 'A downstream service failed' };
const TIMED_OUT: FetchFailure = { code: ErrorCode.SUBGRAPH_TIMEOUT, message: 'A downstream service timed out' };
/** A downstream failure like any other to the client, whose reason says no request was sent. */
const CIRCUIT_OPEN: FetchFailure = { ...FAILED, reason: DownstreamReason.CIRCUIT_OPEN };

/**
 * `data` is an object or null, and an entity fetch's `_entities` has one item per representation. The gateway's
 * executor throws a plain Error on the latter, which would reach the client as our INTERNAL_SERVER_ERROR when it
 * is the subgraph's fault.
 */
function wellFormedData(result: object, variables: Readonly<Record<string, unknown>> | undefined): boolean {
  const { data } = result as { data?: unknown };
  if (data === null || data === undefined) return true;
  if (typeof data !== 'object' || Array.isArray(data)) return false;
  const representations = variables?.representations;
  if (!Array.isArray(representations)) return true;
  const { _entities: entities } = data as { _entities?: unknown };
  return Array.isArray(entities) && entities.length === representations.length;
}

/** The error code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, …) says what happened; a message may say more. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200);
  for (const candidate of [error, error.cause]) {
    if (candidate && typeof candidate === 'object' && 'code' in candidate && typeof candidate.code === 'string')
      return candidate.code;
  }
  // Some messages quote the subgraph's answer (a JSON parse error, say): enough to diagnose, not the whole page.
  return error.message.slice(0, 200);
}

/**
 * The gateway sends the same few plan queries over and over; hashing them once saves a SHA-256 per fetch. The
 * queries are as long as the client's operations made them, so the cache is bounded by their bytes; a hot query
 * evicted is simply hashed again.
 */
const queryHashes = createByteBoundedCache<string>({
  name: 'subgraph-query-hashes',
  maxBytes: 4 * 1_048_576,
  maxEntries: 1_000,
  sizeOf: stringBytes,
});

function queryHash(query: string): string {
  let hash = queryHashes.get(query);
  if (hash === undefined) {
    hash = hashQuery(query);
    queryHashes.set(query, hash);
  }
  return hash;
}
