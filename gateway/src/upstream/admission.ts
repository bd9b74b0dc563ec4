/**
 * The data sources' side of a pending admission (request.ts, `PendingAdmission`: the quota's read and the budget's
 * reservation still in flight when the gateway starts executing). A fetch of an operation waits for the decision before
 * it sends, joins or signs anything; refused, it answers the stand-in below, which the runner replaces with the
 * refusal (pipeline/index.ts) — no client ever sees it.
 */
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { GatewayContext, PendingAdmission } from '../request';

/** The pending admission of the operation a fetch belongs to; none for health checks and schema loading. */
export function pendingAdmissionOf(
  options: GraphQLDataSourceProcessOptions<GatewayContext>,
): PendingAdmission | undefined {
  return 'incomingRequestContext' in options ? options.context?.admission : undefined;
}

/** What a fetch of a refused operation answers instead of sending anything. */
export function notAdmitted(refusal: GraphQLError): { data: null; errors: GraphQLFormattedError[] } {
  return { data: null, errors: [{ message: refusal.message, extensions: { code: refusal.extensions.code } }] };
}
