/**
 * The request types: who calls (Caller), the one log line (RequestLog), and the one typed context every part of a
 * request reads and writes (RequestContext) — created once per HTTP request by the HTTP layer (http/guards.ts,
 * `trackRequests`), kept on Express's `res.locals`, handed to Apollo Server as its context value and to every
 * operation stage (pipeline/index.ts). Nothing here imports a stage or the HTTP layer, so both can import it.
 */
import type { GraphQLResponse } from '@apollo/server';
import type { Context } from '@opentelemetry/api';
import type { GraphQLError, DocumentNode, OperationDefinitionNode } from 'graphql';
import type { Role } from '../../common/ids';
import type { TraceNote } from '../../common/logger';
import type { Reservation } from './budget/budget';
import type { BudgetPolicy, ThrottleStatus } from './budget/bucket';
import type { CostPlan } from './cost/estimate';
import { ErrorCode, gatewayError } from './errors';
import type { CostMode, TenantRecord } from './tenants/tenant';

/**
 * The authenticated caller: one tenant, one principal, the roles it holds there. A person (JWT) acts through roles;
 * a partner's integration (API key) has no roles and acts through the key's scopes.
 */
export interface Caller {
  tenantId: string;
  /** The token's subject, or `key:<keyId>` for an API key. */
  principal: string;
  roles: readonly Role[];
  /**
   * Set only while a developer previews a persona (http/preview-roles.ts): the roles the token itself holds, while
   * `roles` holds the persona's. Decisions about the person (may they introspect) read these.
   */
  tokenRoles?: readonly Role[];
  credential: 'jwt' | 'apiKey';
  /** Milliseconds since the epoch: the token's `exp`, or when the API key expires or is rotated out. */
  tokenExpiresAt: number;
  /** API keys only: what the key may do (credentials/api-keys.ts, API_KEY_SCOPES). */
  scopes?: readonly string[];
  apiKeyId?: string;
  /** API keys only: the partner client the key was issued to. */
  clientName?: string;
  /** API keys only: the persisted-operation manifest the key may run. */
  manifest?: string;
}

/** What the one log line of a request says; stages fill it in as they learn things. */
export interface RequestLog extends TraceNote {
  tenantId?: string;
  principal?: string;
  /** How the caller authenticated (never the credential or its id). */
  credential?: 'jwt' | 'api-key';
  /**
   * Operation fetches to subgraphs (upstream/data-source.ts), each sent or answered by another request's identical
   * fetch; `subgraphFetchesDeduplicated` of them were the latter (upstream/dedupe.ts), so the rest were sent.
   */
  subgraphFetches?: number;
  subgraphFetchesDeduplicated?: number;
  operationName?: string;
  /** The codes the client was sent, after masking. */
  errorCodes: string[];
  /** Why a refusal happened, for the operator (never sent to the client). */
  reason?: string;
  /*
   * What the metrics read (metrics/gateway-metrics.ts). They are here rather than on the request context because
   * Apollo Server hands its hooks and the data sources a shallow copy of the context value (`cloneObject` in
   * ApolloServer.executeHTTPGraphQLRequest): fields written there after the copy never reach the HTTP layer, while
   * this object is shared by reference.
   */
  /** The operation came from a list (a partner's manifest, the frontend safelist): its name is bounded. */
  operationListed?: boolean;
  /** The gateway started executing the operation (the pipeline's `executionDidStart`). */
  executed?: boolean;
  /** The cost stage's estimate; what the account stage charged, and the bucket's points left after it. */
  requestedCost?: number;
  actualCost?: number;
  budgetAvailable?: number;
  /** Bytes of the response body sent (http/guards.ts), for usage metering. */
  responseBytes?: number;
  /**
   * The wait on subgraphs (upstream/data-source.ts): milliseconds during which at least one fetch of the request
   * was in flight — overlapping fetches count once — so the gateway's own time is the rest. `subgraphsInFlight`
   * and `subgraphWaitSince` (`performance.now()`) are its bookkeeping.
   */
  subgraphWaitMs?: number;
  subgraphsInFlight?: number;
  subgraphWaitSince?: number;
  /*
   * What the audit trail reads (audit/from-request.ts), set by the pipeline runner (pipeline/index.ts) and the
   * authentication layer (http/guards.ts).
   */
  /** `query`, `mutation` or `subscription`, once the operation is resolved. */
  operationType?: string;
  /** Apollo Server's SHA-256 of the document as sent. */
  documentHash?: string;
  /** The variables as sent (a reference, not a copy); the audit redacts them. */
  variables?: Readonly<Record<string, unknown>>;
  /** The name of the stage that refused the operation. */
  refusedBy?: string;
  /** The trace id of the active OpenTelemetry span, when tracing is on. */
  traceId?: string;
  /** A credential refused for a reason attributable to a tenant (a revoked, expired or rotated-out API key). */
  credentialEvent?: { tenantId: string; keyId: string; reason: string };
}

/** The operation as parsed and validated — after filter mode, the document that will run (`replaceDocument`). */
export interface ResolvedOperation {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | null;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Apollo Server's SHA-256 (hex) of the query text, or the replacement document's own hash. */
  readonly queryHash: string;
  /**
   * The query text `document` was parsed from; absent once a stage replaced the document (`replaceDocument`). The
   * document store drops parsed documents' locations (document-store.ts), so this is the only text at hand.
   */
  readonly source?: string | undefined;
}

export type CostRefusal =
  typeof ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE | typeof ErrorCode.RATE_LIMITED | typeof ErrorCode.SERVICE_UNAVAILABLE;

/** What the cost stage priced and reserved for one operation; its after-hook settles it (pipeline/account.ts). */
export interface CostReport {
  readonly mode: CostMode;
  readonly requestedQueryCost: number;
  /** The compiled operation, for computing the actual cost from the response. */
  readonly plan: CostPlan;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly policy: BudgetPolicy;
  /** Absent when nothing was reserved: refused, or (measure mode) the budget store was unavailable. */
  readonly reservation?: Reservation;
  /** The bucket after the reservation, or when the reservation was refused. */
  readonly throttleStatus?: ThrottleStatus;
  /** The refusal the operation got — or, in measure mode, would have got. */
  readonly refusal?: CostRefusal;
  /**
   * An earlier stage refused the operation while the reservation was in flight (pipeline/cost.ts): what was reserved
   * is given back, and the answer says nothing of the budget.
   */
  readonly preempted?: boolean;
}

/** A stage's after-hook: runs once the response is known, refusals included (pipeline/index.ts). */
export type AfterHook = (request: OperationRequest, response: StageResponse) => void | Promise<void>;

/** What an after-hook may read and change of the response: Apollo Server's, before it is sent. */
export interface StageResponse {
  readonly body: GraphQLResponse['body'];
  readonly http: GraphQLResponse['http'];
}

/**
 * Everything the gateway knows about one HTTP request while it is handled. The HTTP layer creates it and fills in
 * the caller and the tenant at authentication; the stage runner fills in the resolved operation; stages add what
 * later stages or their after-hooks need. Plain fields, no methods: the hot path allocates nothing per request
 * beyond this object.
 */
export interface RequestContext extends Partial<ResolvedOperation> {
  readonly requestId: string;
  readonly log: RequestLog;
  caller?: Caller;
  /**
   * The caller's tenant as authentication found it (active). Every later step reads this snapshot, never the
   * directory again: a tenant suspended or re-planned while the request runs changes the next request, and this
   * one is decided by one version of it from start to end.
   */
  tenant?: TenantRecord;
  /** The cost stage's estimate and reservation, settled by its after-hook. */
  cost?: CostReport;
  /**
   * Stages' decisions still in flight (the quota's read, the budget's reservation: `pendAdmission`): every subgraph
   * fetch of the request waits for it before anything is sent, and the runner before it answers (`PendingAdmission`).
   */
  admission?: PendingAdmission;
  /** A stage's refusal (`refuse`): the runner stops there and answers it; set also when a stage throws one. */
  refusal?: GraphQLError;
  /** Whether the gateway started executing the operation (Apollo Server's `executionDidStart`). */
  executed?: boolean;
  /** After-hooks of the stages that ran, in stage order (pipeline/index.ts). */
  afterHooks?: AfterHook[];
  /**
   * Tracing on: the OpenTelemetry context holding the request span (tracing/spans.ts), set by the HTTP layer before
   * Apollo Server copies the context, so every stage and subgraph fetch starts its span under it explicitly.
   */
  traceContext?: Context;
}

/** Kept for code written against the earlier name. */
export type RequestState = RequestContext;

/**
 * A decision a stage started but did not wait for, so that its round trip overlaps query planning: the monthly
 * quota's read (pipeline/quota.ts) and the budget's reservation (pipeline/cost.ts) in Redis. It admits or refuses
 * the operation exactly as if the stage had waited — no subgraph fetch is sent before it is known
 * (upstream/admission.ts; the reference check, pipeline/references.ts), and a refusal
 * replaces whatever the response would have been (pipeline/index.ts) — only the wait moves.
 */
export interface PendingAdmission {
  /** The stage whose refusal the decision is (the request line's `refusedBy`): read it once the decision is known. */
  stage: string;
  /** The refusal, or undefined when the operation is admitted. Never rejects. */
  readonly decision: Promise<GraphQLError | undefined>;
}

/**
 * Leaves a stage's decision in flight as (part of) the request's pending admission. With an earlier stage's decision
 * pending too (the quota's read, then the budget's reservation), both are in flight at once and are judged in stage
 * order: the earlier stage's refusal stands whatever the later one decides — as if each stage had waited for its own.
 * `overruled` is then called (after both are known), for the later stage to undo what its decision did meanwhile.
 */
export function pendAdmission(
  request: RequestContext,
  stage: string,
  decision: Promise<GraphQLError | undefined>,
  overruled?: () => void,
): void {
  const earlier = request.admission;
  if (!earlier) {
    request.admission = { stage, decision };
    return;
  }
  const combined: PendingAdmission = {
    stage,
    decision: Promise.all([earlier.decision, decision]).then(([first, second]) => {
      if (!first) return second;
      combined.stage = earlier.stage;
      overruled?.();
      return first;
    }),
  };
  request.admission = combined;
}

/**
 * The refusal of the request's pending admission once it is decided, or undefined when it was admitted or none is
 * pending. Synchronous callers cannot use it: a fetch awaits it before it sends anything.
 */
export async function admissionRefusal(
  request: Pick<RequestContext, 'admission'> | undefined,
): Promise<GraphQLError | undefined> {
  const admission = request?.admission;
  return admission ? admission.decision : undefined;
}

/** Apollo Server's context value: the request context of an authenticated request. */
export interface GatewayContext extends RequestContext {
  caller: Caller;
}

/** What a stage sees: an authenticated request whose operation is resolved. */
export type OperationRequest = GatewayContext & ResolvedOperation;

/** Where the request context is kept: Express's `res.locals`, which lives exactly as long as the request. */
export interface RequestStateCarrier {
  locals: Record<string, unknown>;
}

const REQUEST_CONTEXT = 'tollgateRequestState';

/**
 * The context is handed along explicitly, on the response, rather than kept in async-local storage (ALS): ALS turns
 * on async_hooks promise hooks for the whole process, which taxes every promise Apollo Server and the gateway
 * create. Code that gets no request (Apollo Server's `formatError`) therefore sees no context.
 */
export function attachRequestState(res: RequestStateCarrier, state: RequestContext): void {
  res.locals[REQUEST_CONTEXT] = state;
}

export function requestStateOf(res: RequestStateCarrier): RequestContext | undefined {
  return res.locals[REQUEST_CONTEXT] as RequestContext | undefined;
}

/**
 * The tenant snapshot authentication took. Its absence means the request did not come through authentication; a
 * request whose plan is unknown is refused rather than run without limits.
 */
export function tenantOf(request: Pick<RequestContext, 'tenant'>): TenantRecord {
  const { tenant } = request;
  if (!tenant) throw gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.');
  return tenant;
}

/**
 * Filter mode's explicit API: the operation that will run is `replacement` from now on. Later stages (cost
 * included) read the request's document and see it; the runner hands it to the gateway, which plans it under the
 * replacement's own hash (a reused plan would execute what the original asked for).
 */
export function replaceDocument(
  request: OperationRequest,
  replacement: Pick<ResolvedOperation, 'document' | 'operation' | 'queryHash'>,
): void {
  // The fields are readonly to stages; this is the one place that writes them after the runner.
  const writable = request as { -readonly [K in keyof ResolvedOperation]: ResolvedOperation[K] };
  writable.document = replacement.document;
  writable.operation = replacement.operation;
  writable.queryHash = replacement.queryHash;
  writable.source = undefined;
}

/**
 * A stage refuses the operation but still wants its after-hook run (the cost stage reports the bucket on a
 * refusal): it calls this and returns the hook. A stage without an after-hook simply throws.
 */
export function refuse<H extends AfterHook | undefined>(request: OperationRequest, error: GraphQLError, after: H): H {
  request.refusal = error;
  return after;
}
