/**
 * Stage: the tenant's monthly cost-point quota (its plan's `monthlyCostQuota`), shared by every replica through the
 * month counter in Redis (metering/meter.ts) and surviving restarts there; rebuilt from the month's usage (MongoDB
 * rollups merged with Redis's hour counters, metering/reader.ts) when Redis lost it or the month has just begun.
 *
 * The rule, exactly: an operation is refused when the cost points charged to the tenant this month (UTC), as counted
 * when it arrives, are at or above the quota (usage ≥ quota). So the operation that crosses the quota still runs
 * and is charged in full, and the next one is the first refused — 429 QUOTA_EXCEEDED with `Retry-After` set to the
 * start of next month. A refusal costs nothing. Each answer at or above 80 % of the quota after its own charge
 * carries `Tollgate-Quota-Warning: used=<points>, quota=<points>, reset=<seconds to next month>`.
 *
 * The counter is read once per operation (one MGET); only tenants whose plan has a quota pay for it. The read is not
 * waited for here: it is the request's pending admission (request.ts, `pendAdmission`), in flight together with the
 * budget's reservation (cost.ts) while the gateway plans, and every subgraph fetch waits for it. Its refusal is the
 * answer whatever the later stages decided, and what the budget reserved meanwhile is given back (account.ts). Tenants in
 * cost mode `measure` are never refused: they get the warning only. Redis unreachable: `QUOTA_FAIL_MODE` — `open`
 * (the default) serves without the check and counts it (`skipped()`), `closed` answers 503 SERVICE_UNAVAILABLE.
 */
import type { GraphQLError } from 'graphql';
import type { Logger } from '../../../common/logger';
import { ErrorCode, gatewayError } from '../errors';
import { monthOf, secondsUntilNextMonth } from '../metering/buckets';
import type { Meter } from '../metering/meter';
import { pendAdmission, tenantOf, type AfterHook } from '../request';
import type { Stage } from './index';

export const QUOTA_WARNING_HEADER = 'tollgate-quota-warning';
/** From this share of the quota on, answers carry the warning. */
export const QUOTA_WARNING_SHARE = 0.8;

export interface QuotaStageOptions {
  readonly meter: Pick<Meter, 'monthUsed' | 'rebuildMonth'>;
  /** The month's usage so far, for rebuilding the counter (metering/reader.ts). */
  readonly monthTotal: (tenantId: string, month: string) => Promise<number>;
  readonly failMode: 'open' | 'closed';
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface QuotaStage extends Stage {
  /** Operations served without the check because Redis did not answer (fail mode `open`). */
  skipped(): number;
}

/** Whether an operation arriving with `used` points charged this month is refused. */
export function overQuota(used: number, quota: number): boolean {
  return used >= quota;
}

export function quotaWarning(used: number, quota: number, resetSeconds: number): string | undefined {
  if (used < quota * QUOTA_WARNING_SHARE) return undefined;
  return `used=${used}, quota=${quota}, reset=${resetSeconds}`;
}

export function createQuotaStage(options: QuotaStageOptions): QuotaStage {
  const { meter, logger } = options;
  const now = options.now ?? Date.now;
  let skipped = 0;

  const used = async (tenantId: string, month: string): Promise<number> => {
    const counted = await meter.monthUsed(tenantId, month);
    if (counted !== undefined) return counted;
    // Not trusted (a new month, or Redis lost it): the first replica to get here sets it from the month's usage.
    return meter.rebuildMonth(tenantId, month, await options.monthTotal(tenantId, month));
  };

  return {
    name: 'quota',
    skipped: () => skipped,
    run(request) {
      const tenant = tenantOf(request);
      const quota = tenant.plan.limits.monthlyCostQuota;
      if (quota === undefined) return;
      const at = now();
      const month = monthOf(at);
      const resetSeconds = secondsUntilNextMonth(at);
      /** The month's points as counted when the operation arrived; undefined until read, and when not checked. */
      let before: number | undefined;
      const decide = async (): Promise<GraphQLError | undefined> => {
        try {
          before = await used(tenant.id, month);
        } catch (error) {
          if (options.failMode === 'closed') {
            request.log.reason = 'quota-unavailable';
            return gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.', {
              headers: { 'retry-after': '1' },
            });
          }
          skipped += 1;
          logger.warn('quota not checked: usage store unavailable', {
            requestId: request.requestId,
            tenant: tenant.id,
            reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown',
          });
          return undefined;
        }
        if (!overQuota(before, quota) || tenant.costMode === 'measure') return undefined;
        request.log.reason = 'monthly-quota';
        // Refused: no warning on the refusal.
        before = undefined;
        return gatewayError(ErrorCode.QUOTA_EXCEEDED, 'The monthly cost quota is used up; it resets next month.', {
          headers: { 'retry-after': String(resetSeconds) },
          extensions: { retryAfter: resetSeconds },
        });
      };
      // Not waited for here: the read is in flight with the budget's reservation and query planning, and every
      // subgraph fetch waits for it (request.ts, pendAdmission). `decide` never rejects.
      pendAdmission(request, 'quota', decide());
      // After the account stage's hook (it runs earlier in stage order), so this operation's charge is known; and
      // after the decision (the runner awaits it first).
      const warn: AfterHook = (_request, response) => {
        if (before === undefined) return;
        const warning = quotaWarning(before + (request.log.actualCost ?? 0), quota, resetSeconds);
        if (warning) response.http.headers.set(QUOTA_WARNING_HEADER, warning);
      };
      return warn;
    },
  };
}
