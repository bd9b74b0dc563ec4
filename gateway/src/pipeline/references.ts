/**
 * Stage: does every entity id the operation passes to another subgraph name an entity of the caller's tenant?
 * (references/declarations.ts lists which arguments are references.) Runs after authorization and the budget's
 * reservation (whose decision it waits for before fetching, pipeline/cost.ts), so a refused or throttled caller
 * costs no fetch, and before planning, so a refused mutation writes
 * nothing: a reference refused here is 404 NOT_FOUND at the field's path — another tenant's entity, an id of
 * another type and an unknown id alike — and the reservation is given back (pipeline/account.ts).
 *
 * When the owner cannot answer, the operation is refused (DOWNSTREAM_SERVICE_ERROR 502, SUBGRAPH_TIMEOUT 504):
 * an unchecked reference is never let through.
 */
import { GraphQLError } from 'graphql';
import type { Logger } from '../../../common/logger';
import { ErrorCode, gatewayError } from '../errors';
import { collectReferences, type ReferencePlan } from '../references/plan';
import { ReferenceCheckFailed, type ReferenceChecker } from '../references/check';
import { isFetchFailure, type FetchFailureExtensions } from '../upstream/fetch-failure';
import { admissionRefusal } from '../request';
import type { Stage } from './index';

export interface ReferenceStageOptions {
  readonly plan: ReferencePlan;
  readonly checker: ReferenceChecker;
  readonly logger: Logger;
}

/** Statuses of a refusal for which no code-wide status fits: NOT_FOUND is otherwise a field error inside a 200. */
export const REFERENCE_NOT_FOUND_STATUS = 404;
const CHECK_FAILED_STATUS: Partial<Record<string, number>> = { SUBGRAPH_TIMEOUT: 504, DOWNSTREAM_SERVICE_ERROR: 502 };

export function createReferenceStage(options: ReferenceStageOptions): Stage {
  const { plan, checker, logger } = options;
  return {
    name: 'references',
    async run(operation) {
      const uses = collectReferences(plan, operation.document, operation.operation, operation.variables);
      if (uses.length === 0) return;
      // The check fetches, so it waits for the operation's admission like every fetch (the quota's read and the
      // budget's reservation may still be in flight, request.ts): a throttled caller costs no fetch. The runner
      // answers the refusal as the deciding stage's (pipeline/index.ts).
      const notAdmitted = await admissionRefusal(operation);
      if (notAdmitted) throw notAdmitted;
      const { caller, requestId, tenant } = operation;
      let missing;
      try {
        missing = await checker.missing(uses, caller, requestId, tenant);
      } catch (error) {
        const code =
          error instanceof ReferenceCheckFailed ? downstreamCode(error.cause) : ErrorCode.DOWNSTREAM_SERVICE_ERROR;
        logger.error('reference check failed; the operation is refused', {
          requestId,
          tenant: caller.tenantId,
          error,
        });
        throw gatewayError(
          code,
          code === ErrorCode.SUBGRAPH_TIMEOUT ? 'A downstream service timed out' : 'A downstream service failed',
          {
            status: CHECK_FAILED_STATUS[code],
          },
        );
      }
      const [first] = missing;
      if (!first) return;
      logger.info('reference refused: not an entity of the tenant', {
        requestId,
        tenant: caller.tenantId,
        references: missing.map(({ responseKey, entity }) => `${responseKey}: ${entity}`),
      });
      // The same message a subgraph gives for a missing object (subgraphs/kit/errors.ts), at the field's path.
      const refusal = gatewayError(ErrorCode.NOT_FOUND, `${first.entity} not found`, {
        status: REFERENCE_NOT_FOUND_STATUS,
      });
      throw new GraphQLError(refusal.message, { path: [first.responseKey], extensions: refusal.extensions });
    },
  };
}

/**
 * The data source's own code says whether the owner timed out: thrown by it, or (for an operation fetch) carried by
 * the marked error of its failed-fetch answer. Anything else is a downstream failure.
 */
function downstreamCode(cause: unknown): ErrorCode {
  let code: unknown;
  if (cause instanceof GraphQLError) code = cause.extensions.code;
  else if (
    typeof cause === 'object' &&
    cause !== null &&
    isFetchFailure((cause as { extensions?: unknown }).extensions)
  ) {
    code = (cause as { extensions: FetchFailureExtensions }).extensions.code;
  }
  return code === ErrorCode.SUBGRAPH_TIMEOUT ? ErrorCode.SUBGRAPH_TIMEOUT : ErrorCode.DOWNSTREAM_SERVICE_ERROR;
}
