/**
 * What the gateway's executor returns besides `data` and `errors` is for the gateway, not for clients.
 *
 * @apollo/gateway 2.14 (executeQueryPlan.js) shapes the merged subgraph answers against the API schema; where a
 * subgraph left a non-null field empty — a referenced entity its owner does not know, say — it nulls the nearest
 * nullable parent and, when no other error happened, reports why only as `extensions.valueCompletion` (internal
 * errors coded INVALID_GRAPHQL) beside the data. Apollo Server passes executor extensions to the client as they
 * are, so a client saw `data.adjustStock: null` without any error, although the mutation had run.
 *
 * Here every such completion failure becomes a client error at its path, coded DOWNSTREAM_SERVICE_ERROR (the data
 * a subgraph returned did not fit the schema: the platform's fault, not the client's), and no extension of the
 * executor's result reaches the client. The gateway's own extensions (`cost`) are added after execution by
 * plugins, so nothing of ours is lost. The original message goes to the log only.
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Logger } from '../../../common/logger';
import { ErrorCode } from '../errors';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type Executor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
type ExecutionResult = Awaited<ReturnType<Executor>>;

export interface CompletionErrorsOptions {
  readonly logger: Logger;
}

/** The message every completion failure gets; mask-errors.ts answers DOWNSTREAM_SERVICE_ERROR with its own text. */
export const COMPLETION_FAILURE_MESSAGE = 'A downstream service failed';

/** Turns `extensions.valueCompletion` into coded errors and drops every other extension of an executor result. */
export function clientResult(result: ExecutionResult, logger: Logger, requestId: string | undefined): ExecutionResult {
  const { extensions, ...rest } = result;
  if (!extensions) return result;
  const completion = extensions.valueCompletion;
  const failures: readonly unknown[] = Array.isArray(completion) ? completion : [];
  if (failures.length === 0) return rest;
  logger.error('subgraph data did not complete against the schema', {
    requestId,
    failures: failures.slice(0, 10).map((failure) => ({
      path: pathOf(failure)?.join('.'),
      message: failure instanceof Error ? failure.message.slice(0, 200) : undefined,
    })),
  });
  const errors = failures.map((failure) => {
    const path = pathOf(failure);
    return new GraphQLError(COMPLETION_FAILURE_MESSAGE, {
      ...(path ? { path } : {}),
      extensions: { code: ErrorCode.DOWNSTREAM_SERVICE_ERROR },
    });
  });
  return { ...rest, errors: [...(rest.errors ?? []), ...errors] };
}

function pathOf(failure: unknown): (string | number)[] | undefined {
  const path = failure instanceof GraphQLError ? failure.path : undefined;
  return path && path.every((key) => typeof key === 'string' || typeof key === 'number') ? [...path] : undefined;
}

/** Wraps the gateway's executor so every result goes through `clientResult`. */
export function withCompletionErrors(gateway: GatewayInterface, options: CompletionErrorsOptions): GatewayInterface {
  const { logger } = options;
  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
    async load(loadOptions) {
      const loaded = await gateway.load(loadOptions);
      const { executor } = loaded;
      if (!executor) return loaded;
      return {
        ...loaded,
        executor: async (requestContext) => {
          const requestId = (requestContext.context as { requestId?: unknown } | undefined)?.requestId;
          return clientResult(
            await executor(requestContext),
            logger,
            typeof requestId === 'string' ? requestId : undefined,
          );
        },
      };
    },
  };
}
