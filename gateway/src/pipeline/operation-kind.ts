/**
 * The gateway executes queries and mutations over plain HTTP only. @apollo/gateway does not execute subscriptions
 * (it has no transport for them), and left alone one would fail inside the planner as an internal error; refusing
 * it here gives the client a clear code before any planning.
 */
import { ErrorCode, gatewayError } from '../errors';
import type { Stage } from './index';

export const operationKind: Stage = {
  name: 'operation-kind',
  run({ operation }) {
    if (operation.operation === 'subscription') {
      throw gatewayError(ErrorCode.BAD_REQUEST, 'Subscriptions are not supported by this gateway.');
    }
  },
};
