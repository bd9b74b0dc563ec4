/**
 * Stage: what the operation will cost, whether the plan allows it, and whether the caller's budget holds it.
 *
 * The estimate (cost/estimate.ts) is checked against the plan's `maxCost`: above it the operation is refused with
 * COST_ESTIMATED_TOO_EXPENSIVE before anything is planned or fetched, and nothing is charged. Otherwise the estimate
 * is reserved from the caller's budget (tenant × credential, shared by all replicas through Redis); when the bucket
 * does not hold it, RATE_LIMITED with `Retry-After`. In `measure` mode nothing is refused for cost: the estimate
 * and the budget are still computed and charged, so the numbers a tenant sees are the ones enforcement would use.
 * Measure mode still refuses an operation the estimator will not walk (a fragment bomb): that limit protects the
 * gateway, not a plan.
 *
 * The stage runs after authorization, so an operation refused for its rights never touches the budget, and in filter
 * mode it prices the document that will run (the filtered one, request.ts `replaceDocument`). What it reserved is
 * kept on the request context (`request.cost`); the account stage (account.ts), which runs just before this one,
 * returned the after-hook that settles it once the response is known. A refusal from a later stage is settled at
 * zero.
 */
import { ErrorCode, gatewayError } from '../errors';
import type { PlanLimits } from '../tenants/plan';
import type { CostMode } from '../tenants/tenant';
import { BudgetUnavailableError, type Budget } from '../budget/budget';
import type { ThrottleStatus } from '../budget/bucket';
import { CostInputError, CostVisitLimitError, type CostEstimate, type CostEstimator } from '../cost/estimate';
import { tenantOf, type CostRefusal, type CostReport, type OperationRequest } from '../request';
import type { Stage } from './index';

/** What any operation that is executed costs at least: the floor of both its estimate and its charge. */
export const MIN_OPERATION_COST = 1;

export type { CostMode };

export type { CostRefusal, CostReport };

export interface CostStageOptions {
  readonly estimator: CostEstimator;
  /** The caller's plan limits; by default the tenant snapshot's plan. */
  readonly limitsFor?: (request: OperationRequest) => PlanLimits;
  /** The tenant's cost mode; by default the tenant snapshot's. */
  readonly modeFor?: (request: OperationRequest) => CostMode;
  readonly budget: Budget;
}

const snapshotLimits = (request: OperationRequest): PlanLimits => tenantOf(request).plan.limits;
const snapshotCostMode = (request: OperationRequest): CostMode => tenantOf(request).costMode;

export function createCostStage(options: CostStageOptions): Stage {
  const { estimator, budget } = options;
  const limitsFor = options.limitsFor ?? snapshotLimits;
  const modeFor = options.modeFor ?? snapshotCostMode;
  return {
    name: 'cost',
    async run(operation: OperationRequest) {
      const { caller } = operation;
      const limits = limitsFor(operation);
      const mode = modeFor(operation);
      const estimate = estimateOrRefuse(estimator, operation);
      // The estimate of a whole operation has the charge's floor: `{ __typename }` prices at 0 but an executed
      // operation is never free (account.ts), so it is estimated, reserved and charged 1 alike.
      const requestedQueryCost = Math.max(estimate.cost, MIN_OPERATION_COST);
      const base = {
        mode,
        requestedQueryCost,
        plan: estimate.plan,
        variables: operation.variables,
        policy: limits.budget,
      } as const;

      const overMaximum = requestedQueryCost > limits.maxCost;
      if (overMaximum && mode === 'enforce') {
        operation.cost = { ...base, refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE };
        throw tooExpensive(requestedQueryCost, limits.maxCost);
      }

      let result;
      try {
        result = await budget.reserve(
          { tenantId: caller.tenantId, credential: caller.credential, principal: caller.principal },
          limits.budget,
          // Only measure mode gets here with an estimate above maxCost, which may be astronomically large.
          Math.min(requestedQueryCost, Number.MAX_SAFE_INTEGER),
          { force: mode === 'measure' },
        );
      } catch (error) {
        if (!(error instanceof BudgetUnavailableError)) throw error;
        operation.cost = { ...base, refusal: ErrorCode.SERVICE_UNAVAILABLE };
        if (mode === 'measure') return;
        throw gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.', {
          headers: { 'retry-after': '1' },
        });
      }

      if (!result.granted) {
        // The bucket can never hold this much (a plan whose maxCost exceeds its capacity): waiting would not help.
        if (result.retryAfterSeconds === undefined) {
          operation.cost = { ...base, throttleStatus: result.status, refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE };
          throw tooExpensive(requestedQueryCost, limits.budget.capacity);
        }
        operation.cost = { ...base, throttleStatus: result.status, refusal: ErrorCode.RATE_LIMITED };
        throw rateLimited(requestedQueryCost, result.retryAfterSeconds, result.status);
      }
      operation.cost = {
        ...base,
        reservation: result.reservation,
        throttleStatus: result.status,
        ...(overMaximum ? { refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE } : {}),
      };
    },
  };
}

/** The estimator's answer, or the refusal the cost stage gives (also the explorer's estimate, explorer/inspect.ts). */
export function estimateOrRefuse(estimator: CostEstimator, operation: OperationRequest): CostEstimate {
  try {
    return estimator.estimate(operation);
  } catch (error) {
    if (error instanceof CostVisitLimitError) {
      throw gatewayError(ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE, 'The operation is too large to estimate its cost.');
    }
    if (error instanceof CostInputError) throw gatewayError(ErrorCode.BAD_USER_INPUT, error.message);
    throw error;
  }
}

function tooExpensive(estimated: number, maximum: number) {
  return gatewayError(
    ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE,
    `The operation's estimated cost (${estimated}) exceeds the maximum of ${maximum}.`,
    { extensions: { estimated, maximum } },
  );
}

function rateLimited(requestedQueryCost: number, retryAfter: number, throttleStatus: ThrottleStatus) {
  return gatewayError(ErrorCode.RATE_LIMITED, `The cost budget is used up; retry in ${retryAfter} s.`, {
    headers: { 'retry-after': String(retryAfter) },
    extensions: { retryAfter, cost: { requestedQueryCost, throttleStatus } },
  });
}
