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
 *
 * The reservation is not waited for here: it is the request's pending admission (request.ts, `PendingAdmission`),
 * and the gateway plans the operation meanwhile. The round trip to Redis (a few hundred µs, more across a network)
 * overlaps planning instead of preceding it. What is decided does not change: every subgraph fetch waits for the
 * decision before it sends anything (upstream/admission.ts; the reference check, pipeline/references.ts), and a
 * refusal — RATE_LIMITED, SERVICE_UNAVAILABLE, or an amount the bucket can never hold — replaces the response with
 * the same answer a refusal here would have given (pipeline/index.ts). The refusals decided without Redis (the
 * estimate over `maxCost`, an operation too large to estimate) are still thrown here.
 */
import { ErrorCode, gatewayError } from '../errors';
import type { PlanLimits } from '../tenants/plan';
import type { CostMode } from '../tenants/tenant';
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { BudgetUnavailableError, type Budget, type ReserveResult } from '../budget/budget';
import type { ThrottleStatus } from '../budget/bucket';
import { CostInputError, CostVisitLimitError, type CostEstimate, type CostEstimator } from '../cost/estimate';
import { pendAdmission, tenantOf, type CostRefusal, type CostReport, type OperationRequest } from '../request';
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

      // Known now, while the reservation is still in flight: the stage's span and the request line carry it.
      operation.log.requestedCost = requestedQueryCost;
      const overMaximum = requestedQueryCost > limits.maxCost;
      if (overMaximum && mode === 'enforce') {
        operation.cost = { ...base, refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE };
        throw tooExpensive(requestedQueryCost, limits.maxCost);
      }

      const reserving = budget.reserve(
        { tenantId: caller.tenantId, credential: caller.credential, principal: caller.principal },
        limits.budget,
        // Only measure mode gets here with an estimate above maxCost, which may be astronomically large.
        Math.min(requestedQueryCost, Number.MAX_SAFE_INTEGER),
        { force: mode === 'measure' },
      );
      const own = reserving.then(
        (result) => admit(operation, base, overMaximum, result),
        (error: unknown) => unavailable(operation, base, error),
      );
      // An earlier stage's decision in flight too (the monthly quota's read, pipeline/quota.ts) was sent at the same
      // time rather than waited for. Should it refuse, its refusal is the answer (pendAdmission) and what was
      // reserved meanwhile is given back without being reported: the refusal costs nothing, as if no reservation
      // had been made (pipeline/account.ts).
      pendAdmission(operation, 'cost', own, () => {
        if (operation.cost) operation.cost = { ...operation.cost, preempted: true };
      });
    },
  };
}

type ReportBase = Omit<CostReport, 'reservation' | 'throttleStatus' | 'refusal'>;

/** The reservation's answer: the cost report on the request, and the refusal when the bucket did not hold it. */
function admit(
  operation: OperationRequest,
  base: ReportBase,
  overMaximum: boolean,
  result: ReserveResult,
): GraphQLError | undefined {
  if (!result.granted) {
    // The bucket can never hold this much (a plan whose maxCost exceeds its capacity): waiting would not help.
    if (result.retryAfterSeconds === undefined) {
      operation.cost = { ...base, throttleStatus: result.status, refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE };
      return tooExpensive(base.requestedQueryCost, base.policy.capacity);
    }
    operation.cost = { ...base, throttleStatus: result.status, refusal: ErrorCode.RATE_LIMITED };
    return rateLimited(base.requestedQueryCost, result.retryAfterSeconds, result.status);
  }
  operation.cost = {
    ...base,
    reservation: result.reservation,
    throttleStatus: result.status,
    ...(overMaximum ? { refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE } : {}),
  };
  return undefined;
}

/** The reservation failed: the store is unavailable and the budget fails closed (measure mode serves), or a bug. */
function unavailable(operation: OperationRequest, base: ReportBase, error: unknown): GraphQLError | undefined {
  if (!(error instanceof BudgetUnavailableError)) {
    // Not the store (an invalid policy, say): answered as the error a stage throwing it would have got (a masked
    // 500, the cause kept as `originalError`); the decision itself never rejects.
    return new GraphQLError('Internal server error', {
      originalError: error instanceof Error ? error : new Error(String(error)),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, http: { status: 500, headers: new HeaderMap() } },
    });
  }
  operation.cost = { ...base, refusal: ErrorCode.SERVICE_UNAVAILABLE };
  if (base.mode === 'measure') return undefined;
  return gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.', {
    headers: { 'retry-after': '1' },
  });
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
