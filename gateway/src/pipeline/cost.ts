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
 * The stage runs after authorization, so an operation refused for its rights never touches the budget. What it
 * reserved is recorded in a `CostLedger` under the request id; the accounting plugin (account.ts) takes it from
 * there after execution, settles the actual cost and reports it. A refusal from a later stage is settled at zero.
 */
import { ErrorCode, gatewayError } from '../errors';
import type { PlanLimits } from '../tenants/plan';
import type { CostMode } from '../tenants/tenant';
import { BudgetUnavailableError, type Budget, type Reservation } from '../budget/budget';
import type { BudgetPolicy, ThrottleStatus } from '../budget/bucket';
import { CostInputError, CostVisitLimitError, type CostEstimate, type CostEstimator, type CostPlan } from '../cost/estimate';
import type { Caller, OperationStage, ResolvedOperation } from './index';

/** What any operation that is executed costs at least: the floor of both its estimate and its charge. */
export const MIN_OPERATION_COST = 1;

export type { CostMode };

export type CostRefusal =
  | typeof ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE
  | typeof ErrorCode.RATE_LIMITED
  | typeof ErrorCode.SERVICE_UNAVAILABLE;

/** Everything the accounting step needs to know about one operation's cost. */
export interface CostReport {
  readonly mode: CostMode;
  readonly requestedQueryCost: number;
  /** The compiled operation, for computing the actual cost from the response. */
  readonly plan: CostPlan;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly policy: BudgetPolicy;
  /** Absent when nothing was reserved: refused, or (measure mode) the budget store was unavailable. */
  readonly reservation?: Reservation;
  /** The bucket after the reservation, or when the reservation was refused. */
  readonly throttleStatus?: ThrottleStatus;
  /** The refusal the operation got — or, in measure mode, would have got. */
  readonly refusal?: CostRefusal;
}

/**
 * Hands a request's CostReport from the cost stage to the accounting plugin. Keyed by request id, which is one per
 * HTTP request: Apollo Server's batching (off by default) would have several operations share one, and must stay
 * off unless this is keyed per operation. Entries are taken once; one never taken (which Apollo Server's
 * `willSendResponse`, called for every response, should make impossible) is dropped after `maxAgeMs`, its
 * reservation left charged.
 */
export interface CostLedger {
  record(requestId: string, report: CostReport): void;
  take(requestId: string): CostReport | undefined;
  readonly size: number;
}

export function createCostLedger(options: { maxAgeMs?: number; now?: () => number } = {}): CostLedger {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const now = options.now ?? Date.now;
  // Insertion order is time order, so the oldest entries are always first.
  const entries = new Map<string, { report: CostReport; at: number }>();
  return {
    record(requestId, report) {
      const at = now();
      for (const [id, entry] of entries) {
        if (at - entry.at <= maxAgeMs) break;
        entries.delete(id);
      }
      entries.delete(requestId);
      entries.set(requestId, { report, at });
    },
    take(requestId) {
      const entry = entries.get(requestId);
      entries.delete(requestId);
      return entry?.report;
    },
    get size() {
      return entries.size;
    },
  };
}

export interface CostStageOptions {
  readonly estimator: CostEstimator;
  readonly limitsFor: (caller: Caller) => PlanLimits;
  readonly modeFor: (tenantId: string) => CostMode;
  readonly budget: Budget;
  readonly ledger: CostLedger;
}

export function createCostStage(options: CostStageOptions): OperationStage {
  const { estimator, limitsFor, modeFor, budget, ledger } = options;
  return {
    name: 'cost',
    async run(operation: ResolvedOperation) {
      const { caller } = operation;
      const limits = limitsFor(caller);
      const mode = modeFor(caller.tenantId);
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
      const record = (report: CostReport) => ledger.record(operation.requestId, report);

      const overMaximum = requestedQueryCost > limits.maxCost;
      if (overMaximum && mode === 'enforce') {
        record({ ...base, refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE });
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
        record({ ...base, refusal: ErrorCode.SERVICE_UNAVAILABLE });
        if (mode === 'measure') return;
        throw gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.', {
          headers: { 'retry-after': '1' },
        });
      }

      if (!result.granted) {
        // The bucket can never hold this much (a plan whose maxCost exceeds its capacity): waiting would not help.
        if (result.retryAfterSeconds === undefined) {
          record({ ...base, throttleStatus: result.status, refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE });
          throw tooExpensive(requestedQueryCost, limits.budget.capacity);
        }
        record({ ...base, throttleStatus: result.status, refusal: ErrorCode.RATE_LIMITED });
        throw rateLimited(requestedQueryCost, result.retryAfterSeconds, result.status);
      }
      record({
        ...base,
        reservation: result.reservation,
        throttleStatus: result.status,
        ...(overMaximum ? { refusal: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE } : {}),
      });
    },
  };
}

function estimateOrRefuse(estimator: CostEstimator, operation: ResolvedOperation): CostEstimate {
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
  return gatewayError(
    ErrorCode.RATE_LIMITED,
    `The cost budget is used up; retry in ${retryAfter} s.`,
    {
      headers: { 'retry-after': String(retryAfter) },
      extensions: { retryAfter, cost: { requestedQueryCost, throttleStatus } },
    },
  );
}
