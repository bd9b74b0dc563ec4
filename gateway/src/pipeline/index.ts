/**
 * The request pipeline: authenticate → persisted operations → limits → cost → authorize → plan/execute → account.
 *
 * Authentication runs as Express middleware before the body is even read (server.ts), because it needs nothing but
 * a header and must happen before anything else. Every later stage needs the parsed, validated operation, so they
 * run in Apollo Server's `didResolveOperation` — which happens before the gateway plans or fetches anything.
 * Apollo Server runs the `didResolveOperation` hooks of all plugins concurrently, so the stages must not be
 * separate plugins: one plugin awaits them in order, and the first refusal stops the rest.
 */
import type { ApolloServerPlugin, GraphQLResponse } from '@apollo/server';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import type { Role } from '../../../common/ids';
import type { FieldFilter } from '../authz/filter';
import { ErrorCode, gatewayError } from '../errors';
import { applyFieldFilter, completeFilteredResponse } from './authorize';

/**
 * The authenticated caller: one tenant, one principal, the roles it holds there. A person (JWT) acts through roles;
 * a partner's integration (API key) has no roles and acts through the key's scopes.
 */
export interface Caller {
  tenantId: string;
  /** The token's subject, or `key:<keyId>` for an API key. */
  principal: string;
  roles: readonly Role[];
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
export interface RequestLog {
  tenantId?: string;
  principal?: string;
  operationName?: string;
  /** The codes the client was sent, after masking. */
  errorCodes: string[];
  /** Why a refusal happened, for the operator (never sent to the client). */
  reason?: string;
}

/** Everything the gateway knows about one HTTP request while it is handled. */
export interface RequestState {
  requestId: string;
  startedAt: bigint;
  log: RequestLog;
  caller?: Caller;
}

/** Where the request state is kept: Express's `res.locals`, which lives exactly as long as the request. */
export interface RequestStateCarrier {
  locals: Record<string, unknown>;
}

const REQUEST_STATE = 'tollgateRequestState';

/**
 * The state is handed along explicitly, on the response, rather than kept in async-local storage (ALS): ALS turns on
 * async_hooks promise hooks for the whole process, which taxes every promise Apollo Server and the gateway create.
 * Code that gets no request (Apollo Server's `formatError`) therefore sees no state.
 */
export function attachRequestState(res: RequestStateCarrier, state: RequestState): void {
  res.locals[REQUEST_STATE] = state;
}

export function requestStateOf(res: RequestStateCarrier): RequestState | undefined {
  return res.locals[REQUEST_STATE] as RequestState | undefined;
}

/** Apollo Server's context value: only authenticated requests get one. */
export interface GatewayContext {
  requestId: string;
  caller: Caller;
  log: RequestLog;
}

/** What a stage sees: the operation as parsed and validated, and who asks for it. */
export interface ResolvedOperation {
  readonly requestId: string;
  readonly caller: Caller;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | null;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Apollo Server's SHA-256 (hex) of the query text. */
  readonly queryHash: string;
  /**
   * Filter-mode authorization: the gateway plans `filter.document` (under its own hash) instead of the request's
   * document, and the response is completed with nulls and errors at the denied paths.
   */
  readonly filterFields: (filter: FieldFilter) => void;
}

/**
 * A step that may refuse the operation by throwing a `gatewayError` (its code and HTTP status become the
 * response). A stage that needs state across requests is built by a factory taking its options type.
 */
export interface OperationStage {
  readonly name: string;
  run(operation: ResolvedOperation): void | Promise<void>;
}

type GraphQLResponseBody = GraphQLResponse['body'];

export function createPipelinePlugin(stages: readonly OperationStage[]): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let filter: FieldFilter | undefined;
      return {
        async didResolveOperation(requestContext) {
          const { contextValue, document, operation, operationName, queryHash, request } = requestContext;
          if (operationName) contextValue.log.operationName = operationName;
          if (!operation) {
            throw gatewayError(
              ErrorCode.OPERATION_RESOLUTION_FAILURE,
              'The document has no operation to run for the given operationName.',
            );
          }
          const resolved: ResolvedOperation = {
            requestId: contextValue.requestId,
            caller: contextValue.caller,
            document,
            operation,
            operationName,
            variables: request.variables ?? {},
            queryHash,
            filterFields: (fieldFilter) => {
              applyFieldFilter(requestContext, fieldFilter);
              filter = fieldFilter;
            },
          };
          for (const stage of stages) await stage.run(resolved);
        },
        async willSendResponse(requestContext) {
          if (filter) completeFilteredResponse(requestContext, filter);
          recordErrorCodes(requestContext.response.body, requestContext.contextValue.log);
        },
      };
    },
  };
}

/**
 * Notes the codes of the errors a response carries in the request's log line. By `willSendResponse` Apollo Server
 * has already run `formatError`, so these are the codes the client is sent; filter mode's errors are included.
 */
function recordErrorCodes(body: GraphQLResponseBody, log: RequestLog): void {
  const errors = body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
  for (const error of errors ?? []) {
    const code = error.extensions?.code;
    if (typeof code === 'string') log.errorCodes.push(code);
  }
}
