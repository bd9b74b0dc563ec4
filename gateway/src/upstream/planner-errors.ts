/**
 * The query planner refuses operations that would make it do too much work (recursive selections, non-local
 * selections, plan options) by throwing plain errors, which Apollo Server answers as INTERNAL_SERVER_ERROR 500.
 * The client caused them, so they become GRAPHQL_VALIDATION_FAILED 400. The gateway's executor is wrapped rather
 * than the errors rewritten in `formatError`, because only a thrown error's `extensions.http` sets the status.
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { ErrorCode, gatewayError } from '../errors';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

/** The planner's own limit messages (@apollo/query-planner 2.14: recursiveSelectionsLimit.js, buildPlan.js). */
const PLANNER_LIMIT_MESSAGES = [
  /^Exceeded maximum recursive selections/,
  /^Number of non-local selections exceeds limit/,
  /^Too many options generated for/,
];

export function clientErrorForPlannerLimit(error: unknown): GraphQLError | undefined {
  if (!(error instanceof Error) || !PLANNER_LIMIT_MESSAGES.some((pattern) => pattern.test(error.message))) {
    return undefined;
  }
  return gatewayError(ErrorCode.GRAPHQL_VALIDATION_FAILED, 'The operation is too complex to plan.');
}

export function mapPlannerLimitErrors(gateway: GatewayInterface): GatewayInterface {
  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
    async load(options) {
      const loaded = await gateway.load(options);
      const { executor } = loaded;
      if (!executor) return loaded;
      return {
        ...loaded,
        executor: async (requestContext) => {
          try {
            return await executor(requestContext);
          } catch (error) {
            throw clientErrorForPlannerLimit(error) ?? error;
          }
        },
      };
    },
  };
}
