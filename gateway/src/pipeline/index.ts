/**
 * The stage contract and its runner: the one Apollo Server plugin that runs the operation stages.
 *
 * A request first goes through the HTTP layer (http/, wired in server.ts): request id and log line, CORS, method,
 * credential in the URL, authentication (which takes the tenant snapshot), content type, body bounds, persisted
 * operations, document bounds. Apollo Server then parses and validates the operation, and in its
 * `didResolveOperation` — before the gateway plans or fetches anything — this runner awaits the stages in order
 * (supergraph/bundle.ts lists them, per supergraph version): operation kind → introspection → limits → authorize →
 * cost → references. Apollo Server runs the `didResolveOperation` hooks of all plugins concurrently, so the stages
 * must not be separate plugins.
 *
 * A stage is `{ name, run(request) }`. `run` may refuse — throw a `gatewayError`, or call `refuse(request, error,
 * hook)` to be answered that way and still have its after-hook run — and may return an after-hook (Envelop's
 * onExecute → onExecuteDone shape). The first refusal stops the later stages. A stage may also leave a decision in
 * flight (`request.admission`, request.ts: the quota's read, the budget's reservation): the runner does not wait for it,
 * so the gateway plans meanwhile, and every subgraph fetch waits for it instead. In `willSendResponse`, which Apollo
 * Server calls for every response, the pending decision is awaited first — a refusal replaces the response, as if
 * the stage had thrown it (it was decided before any later stage's refusal could have been) — then the after-hooks
 * of the stages that ran are awaited once each, in stage order, with the response; then the codes the client is
 * sent are noted in the request's log line.
 *
 * All per-request state lives on the request context (request.ts): the listener object below is shared by every
 * request, so the runner allocates nothing per request but the after-hook list of a request that has one.
 */
import type { ApolloServerPlugin, GraphQLRequestListener, GraphQLResponse } from '@apollo/server';
import type { Tracer } from '@opentelemetry/api';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { ErrorCode, gatewayError } from '../errors';
import type {
  AfterHook,
  GatewayContext,
  OperationRequest,
  RequestContext,
  RequestLog,
  StageResponse,
} from '../request';
import { annotateRequestSpan, isRecorded, runStageTraced, traceAdmission, traceAfterHook } from '../tracing/spans';

export type {
  AfterHook,
  Caller,
  GatewayContext,
  OperationRequest,
  RequestContext,
  RequestLog,
  RequestState,
  RequestStateCarrier,
  ResolvedOperation,
  StageResponse,
} from '../request';
export { attachRequestState, pendAdmission, replaceDocument, refuse, requestStateOf, tenantOf } from '../request';

/**
 * One concern of the request path, built by its module's factory from a typed options object. `run` sees the
 * request with its operation resolved (after filter mode: the document that will run).
 */
export interface Stage {
  readonly name: string;
  run(request: OperationRequest): void | AfterHook | Promise<void | AfterHook>;
}

/** The earlier name of `Stage`. */
export type OperationStage = Stage;

type GraphQLResponseBody = GraphQLResponse['body'];
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * `stages`, or the stages of the supergraph version a request was validated against (supergraph/bundle.ts): Apollo
 * Server hands every request the schema it validated it with, so a hot swap never gives a request the stages of a
 * version other than its own.
 */
export type StagesFor = readonly Stage[] | ((schema: GraphQLSchema) => readonly Stage[]);

export interface PipelineOptions {
  /**
   * With tracing on (common/tracing/setup.ts): each stage runs in a span `tollgate.<stage>`, each after-hook in
   * `tollgate.<stage>.after` (tracing/spans.ts). Absent, the runner creates no span and builds no attribute.
   */
  tracer?: Tracer;
  /**
   * Apollo Server's `formatError`, for a refusal decided after the stages (`request.admission`), which the runner
   * writes into the response itself. Absent, the refusal is sent as it is.
   */
  formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

export function createPipelinePlugin(
  stagesFor: StagesFor,
  options: PipelineOptions = {},
): ApolloServerPlugin<GatewayContext> {
  const { tracer, formatError } = options;
  const listener: GraphQLRequestListener<GatewayContext> = {
    async didResolveOperation(requestContext) {
      const { contextValue, document, operation, operationName, queryHash, request } = requestContext;
      const stages = typeof stagesFor === 'function' ? stagesFor(requestContext.schema) : stagesFor;
      const { log } = contextValue;
      if (operationName) log.operationName = operationName;
      // For the audit trail (audit/from-request.ts): references, no copies. (The trace id is the request's own,
      // noted by the request line's tracking: common/logger.ts noteTrace, tracing/spans.ts.)
      if (operation) log.operationType = operation.operation;
      log.documentHash = queryHash;
      if (request.variables) log.variables = request.variables;
      if (!operation) {
        throw gatewayError(
          ErrorCode.OPERATION_RESOLUTION_FAILURE,
          'The document has no operation to run for the given operationName.',
        );
      }
      // Written onto the request context itself: no operation object per request.
      const resolved = contextValue as Writable<OperationRequest>;
      resolved.document = document;
      resolved.operation = operation;
      resolved.operationName = operationName;
      resolved.variables = request.variables ?? {};
      resolved.queryHash = queryHash;
      resolved.source = requestContext.source;
      // A request the sampler dropped runs its stages as with tracing off: no closure, span or wrapper per stage.
      const traced = tracer && isRecorded(resolved) ? tracer : undefined;
      if (traced) annotateRequestSpan(resolved);
      // Traced: when the first decision was left in flight, the start of the `tollgate.admission` span.
      let admissionFrom: number | undefined;
      try {
        for (const stage of stages) {
          let after: void | AfterHook;
          try {
            after = traced
              ? await runStageTraced(traced, stage.name, resolved, () => stage.run(resolved))
              : await stage.run(resolved);
          } catch (error) {
            if (error instanceof GraphQLError) {
              resolved.refusal = error;
              log.refusedBy = stage.name;
            }
            throw error;
          } finally {
            if (traced && admissionFrom === undefined && resolved.admission) admissionFrom = performance.now();
          }
          if (after) (resolved.afterHooks ??= []).push(traced ? traceAfterHook(traced, stage.name, after) : after);
          if (resolved.refusal) {
            log.refusedBy = stage.name;
            throw resolved.refusal;
          }
        }
      } finally {
        // Once every stage has added its decision (a refusal stops them, not the decisions already in flight).
        if (admissionFrom !== undefined) traceAdmission(traced!, resolved, admissionFrom);
      }
      // Filter mode replaced the document (request.ts, replaceDocument): Apollo Server hands the gateway `document`
      // and `queryHash` as they are after this hook, and the gateway keys its plan cache by that hash. The request
      // context's types say readonly; at runtime it is a plain object.
      if (resolved.document !== document) {
        Object.assign(requestContext, {
          document: resolved.document,
          operation: resolved.operation,
          queryHash: resolved.queryHash,
        });
      }
    },
    async executionDidStart({ contextValue }) {
      contextValue.executed = true;
      // The log line's copy: Apollo Server's context value is a shallow copy of the request context (request.ts).
      contextValue.log.executed = true;
    },
    async willSendResponse({ contextValue, response }) {
      const admission = contextValue.admission;
      if (admission) {
        const refusal = await admission.decision;
        if (refusal) answerRefusal(contextValue, response, refusal, admission.stage, formatError);
      }
      const hooks = contextValue.afterHooks;
      if (hooks) {
        // Taken first, so a hook runs once even if Apollo Server ever called this twice.
        contextValue.afterHooks = undefined;
        for (const hook of hooks) await hook(contextValue as OperationRequest, response);
      }
      recordErrorCodes(response.body, contextValue.log);
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}

/**
 * Writes a refusal decided after the stages ran into the response, as Apollo Server answers one a stage throws: no
 * data, the formatted error alone (its `extensions.http` taken off), the status and headers it names. Nothing was
 * fetched for it (every fetch waited for the decision), so the request is noted as not executed, and refused by the
 * deciding stage whichever stage threw meanwhile.
 */
function answerRefusal(
  request: RequestContext,
  response: StageResponse,
  refusal: GraphQLError,
  stage: string,
  formatError: PipelineOptions['formatError'],
): void {
  const { http, ...extensions } = refusal.extensions as { http?: { status?: number; headers?: Map<string, string> } };
  const formatted = { message: refusal.message, extensions };
  const error = formatError ? formatError(formatted, refusal) : formatted;
  (response as { body: GraphQLResponseBody }).body = { kind: 'single', singleResult: { errors: [error] } };
  response.http.status = http?.status ?? 500;
  for (const [name, value] of http?.headers ?? []) response.http.headers.set(name, value);
  request.refusal = refusal;
  request.executed = false;
  request.log.executed = false;
  request.log.refusedBy = stage;
}

/**
 * Notes the codes of the errors a response carries in the request's log line. By `willSendResponse` Apollo Server
 * has already run `formatError`, so these are the codes the client is sent; after-hooks' errors (filter mode's)
 * are included.
 */
function recordErrorCodes(body: GraphQLResponseBody, log: RequestLog): void {
  const errors = body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
  for (const error of errors ?? []) {
    const code = error.extensions?.code;
    if (typeof code === 'string') log.errorCodes.push(code);
  }
}
