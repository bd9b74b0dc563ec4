/**
 * The request pipeline: authenticate → persisted operations → limits → cost → authorize → plan/execute → account.
 *
 * Authentication runs as Express middleware before the body is even read (server.ts), because it needs nothing but
 * a header and must happen before anything else. Every later stage needs the parsed, validated operation, so they
 * run in Apollo Server's `didResolveOperation` — which happens before the gateway plans or fetches anything.
 * Apollo Server runs the `didResolveOperation` hooks of all plugins concurrently, so the stages must not be
 * separate plugins: one plugin awaits them in order, and the first refusal stops the rest.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
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

const requestStates = new AsyncLocalStorage<RequestState>();

/**
 * Runs the rest of a request with its state reachable from code that gets no request argument — Apollo Server's
 * `formatError` notably, which is where the masked error codes for the log line are known.
 */
export function runWithRequestState<T>(state: RequestState, fn: () => T): T {
  return requestStates.run(state, fn);
}

export function currentRequestState(): RequestState | undefined {
  return requestStates.getStore();
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
        },
      };
    },
  };
}
