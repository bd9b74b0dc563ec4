/**
 * Stage: the account of an operation's cost. It runs just before the cost stage and returns its after-hook: once the response is known, charge the operation what it actually cost, settle the reservation the cost
 * stage made, and tell the client — `extensions.cost` in Shopify's shape and the IETF RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers, structured-field form since draft 08).
 *
 * What an operation is charged:
 * - refused before execution, by any stage and for any reason: nothing; the whole reservation is given back. That
 *   includes what the gateway's executor refuses before fetching anything (variable coercion, the planner's
 *   limits): the response then has no `data` entry at all, which GraphQL reserves for errors before execution;
 * - executed, and a subgraph failed or timed out (DOWNSTREAM_SERVICE_ERROR, SUBGRAPH_TIMEOUT, INTERNAL_SERVER_ERROR),
 *   or the result is delivered incrementally: at least the estimate — the subgraphs did the work, or part of it,
 *   and the response does not show how much;
 * - executed otherwise: its actual cost from the response, at least 1 — an executed operation is never free.
 * The actual cost may exceed the estimate (a list longer than its assumed size); the excess is charged too.
 * `actualQueryCost` reports what was charged.
 *
 * Settling does not wait for Redis: the difference rides with the bucket's next reservation (or a flush a few ms
 * later, see budget.ts), so the response goes out without a second round trip. `throttleStatus` and the headers
 * therefore show the bucket as this operation left it — the level its reservation reported, refilled since, minus
 * the difference — not counting what other operations spent in between.
 */
import type { GraphQLResponse } from '@apollo/server';
import type { Budget } from '../budget/budget';
import { secondsUntilFull, type BudgetPolicy, type ThrottleStatus } from '../budget/bucket';
import { actualCost } from '../cost/estimate';
import type { AfterHook, CostReport } from '../request';
import { MIN_OPERATION_COST } from './cost';
import type { Stage } from './index';

/** The cost stage estimates every operation at this floor too, so estimate and charge agree on trivial ones. */
export const MIN_EXECUTED_CHARGE = MIN_OPERATION_COST;
const FAILURE_CODES: ReadonlySet<unknown> = new Set([
  'DOWNSTREAM_SERVICE_ERROR',
  'SUBGRAPH_TIMEOUT',
  'INTERNAL_SERVER_ERROR',
]);
/** The policy's name in the RateLimit headers. */
const POLICY_NAME = 'budget';

export type ExecutionOutcome =
  { readonly executed: false } | { readonly executed: true; readonly body: GraphQLResponse['body'] };

export interface CostSettlement {
  /** What the operation was charged. */
  readonly actualQueryCost: number;
  /**
   * The bucket as this operation left it, computed in the process; absent when the settlement is lost already (the
   * budget store is unavailable), or nothing was reserved.
   */
  readonly throttleStatus?: ThrottleStatus;
}

/** Shopify's `extensions.cost`. */
export interface CostExtension {
  readonly requestedQueryCost: number;
  readonly actualQueryCost: number;
  readonly throttleStatus?: ThrottleStatus;
}

export function chargeFor(report: CostReport, outcome: ExecutionOutcome): number {
  if (!outcome.executed) return 0;
  const { body } = outcome;
  if (body.kind !== 'single') return report.requestedQueryCost;
  const result = body.singleResult;
  const actual = actualCost(result.data, report.plan, report.variables);
  if ((result.errors ?? []).some((e) => FAILURE_CODES.has(e.extensions?.code)))
    return Math.max(actual, report.requestedQueryCost);
  if (result.data === undefined) return 0;
  return Math.max(actual, MIN_EXECUTED_CHARGE);
}

export async function settleCost(
  report: CostReport,
  outcome: ExecutionOutcome,
  budget: Budget,
): Promise<CostSettlement> {
  if (!report.reservation) {
    return { actualQueryCost: 0, ...(report.throttleStatus ? { throttleStatus: report.throttleStatus } : {}) };
  }
  const charge = chargeFor(report, outcome);
  const throttleStatus = await budget.settle(report.reservation, charge);
  return { actualQueryCost: charge, ...(throttleStatus ? { throttleStatus } : {}) };
}

export function costExtension(report: CostReport, settlement: CostSettlement): CostExtension {
  return {
    requestedQueryCost: report.requestedQueryCost,
    actualQueryCost: settlement.actualQueryCost,
    ...(settlement.throttleStatus ? { throttleStatus: settlement.throttleStatus } : {}),
  };
}

/**
 * `RateLimit-Policy: "budget";q=<capacity>;w=<seconds an empty bucket takes to fill>` and
 * `RateLimit: "budget";r=<points left>;t=<seconds until full>`. Structured fields take non-negative integers, so a
 * bucket in debt shows r=0 and a t that includes paying the debt off.
 */
export function rateLimitHeaders(policy: BudgetPolicy, status: ThrottleStatus): Record<string, string> {
  const window = Math.ceil(policy.capacity / policy.restoreRate);
  const remaining = Math.max(0, status.currentlyAvailable);
  return {
    'ratelimit-policy': `"${POLICY_NAME}";q=${policy.capacity};w=${window}`,
    ratelimit: `"${POLICY_NAME}";r=${remaining};t=${secondsUntilFull(policy, status.currentlyAvailable)}`,
  };
}

export interface AccountStageOptions {
  readonly budget: Budget;
}

/**
 * Registers, for every operation that gets as far as the cost stage, the after-hook that settles what that stage
 * reserved (`request.cost`) and writes the extension and headers. It runs before the cost stage rather than being
 * the cost stage's own after-hook so that a refusal by the cost stage itself (RATE_LIMITED, with the bucket's
 * status) is still reported. The hook is built once: it reads everything from the request.
 */
export function createAccountStage(options: AccountStageOptions): Stage {
  const { budget } = options;
  const settle: AfterHook = async (request, response) => {
    const report = request.cost;
    if (!report) return;
    if (report.preempted) {
      // Refused by an earlier stage while the reservation was in flight (cost.ts): given back in full, unreported.
      if (report.reservation) await budget.settle(report.reservation, 0);
      request.log.requestedCost = undefined;
      return;
    }
    const outcome: ExecutionOutcome = request.executed ? { executed: true, body: response.body } : { executed: false };
    const settlement = await settleCost(report, outcome, budget);
    // For the request's metrics (metrics/gateway-metrics.ts), read when its log line is written.
    request.log.requestedCost = report.requestedQueryCost;
    request.log.actualCost = settlement.actualQueryCost;
    if (settlement.throttleStatus) request.log.budgetAvailable = settlement.throttleStatus.currentlyAvailable;
    const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
    result.extensions = { ...result.extensions, cost: costExtension(report, settlement) };
    if (settlement.throttleStatus) {
      for (const [name, value] of Object.entries(rateLimitHeaders(report.policy, settlement.throttleStatus))) {
        response.http.headers.set(name, value);
      }
    }
  };
  return { name: 'account', run: () => settle };
}
