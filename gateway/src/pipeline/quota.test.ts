import { GraphQLError } from 'graphql';
import { HeaderMap } from '@apollo/server';
import { createLogger } from '../../../common/logger';
import type { OperationRequest, StageResponse } from '../request';
import { createQuotaStage, overQuota, quotaWarning, type QuotaStage, type QuotaStageOptions } from './quota';

const NOW = Date.parse('2026-12-31T23:00:00Z');
const quiet = createLogger({ sink: () => undefined });

function request(quota: number | undefined, costMode: 'enforce' | 'measure' = 'enforce'): OperationRequest {
  return {
    requestId: 'r1',
    log: { errorCodes: [] },
    caller: { tenantId: 'acme', principal: 'u1', roles: ['admin'], credential: 'jwt', tokenExpiresAt: NOW + 60_000 },
    tenant: { id: 'acme', costMode, plan: { limits: quota === undefined ? {} : { monthlyCostQuota: quota } } },
  } as unknown as OperationRequest;
}

function stage(used: number | undefined | Error, overrides: Partial<QuotaStageOptions> = {}) {
  const calls = { monthUsed: 0, rebuilt: [] as number[] };
  const quota = createQuotaStage({
    meter: {
      monthUsed: async () => {
        calls.monthUsed += 1;
        if (used instanceof Error) throw used;
        return used;
      },
      rebuildMonth: async (_t, _m, total) => {
        calls.rebuilt.push(total);
        return total;
      },
    },
    monthTotal: async () => 42,
    failMode: 'open',
    logger: quiet,
    now: () => NOW,
    ...overrides,
  });
  return { quota, calls };
}

/**
 * Runs the stage and waits for what it decided: the read is left in flight as the request's pending admission, whose
 * refusal is thrown here as a stage's would be. Resolves with the stage's after-hook.
 */
async function decided(quota: QuotaStage, req: OperationRequest) {
  const hook = await quota.run(req);
  const refused = await req.admission?.decision;
  if (refused) throw refused;
  return hook;
}

async function refusal(run: Promise<unknown>): Promise<GraphQLError | undefined> {
  try {
    await run;
    return undefined;
  } catch (error) {
    return error as GraphQLError;
  }
}

describe('the quota rule', () => {
  it('refuses at usage ≥ quota and not one point before', () => {
    expect(overQuota(99, 100)).toBe(false);
    expect(overQuota(100, 100)).toBe(true);
    expect(overQuota(101, 100)).toBe(true);
  });

  it('warns from 80 % on', () => {
    expect(quotaWarning(79, 100, 60)).toBeUndefined();
    expect(quotaWarning(80, 100, 60)).toBe('used=80, quota=100, reset=60');
  });
});

describe('the quota stage', () => {
  it('reads nothing for a plan without a quota', async () => {
    const { quota, calls } = stage(10);
    expect(await decided(quota, request(undefined))).toBeUndefined();
    expect(calls.monthUsed).toBe(0);
  });

  it('serves below the quota and refuses at it with 429 QUOTA_EXCEEDED and Retry-After to next month', async () => {
    expect(await refusal(decided(stage(99).quota, request(100)))).toBeUndefined();
    const error = await refusal(decided(stage(100).quota, request(100)));
    expect(error?.extensions.code).toBe('QUOTA_EXCEEDED');
    const http = error?.extensions.http as { status: number; headers: Map<string, string> };
    expect(http.status).toBe(429);
    expect(http.headers.get('retry-after')).toBe('3600');
    expect(error?.extensions.retryAfter).toBe(3600);
  });

  it('never refuses a tenant in cost mode measure', async () => {
    expect(await refusal(decided(stage(500).quota, request(100, 'measure')))).toBeUndefined();
  });

  it("warns after the operation's own charge takes the tenant to 80 %", async () => {
    const req = request(100);
    const hook = await decided(stage(75).quota, req);
    const response = { body: { kind: 'single', singleResult: {} }, http: { headers: new HeaderMap() } };
    req.log.actualCost = 4;
    await hook!(req, response as unknown as StageResponse);
    expect(response.http.headers.get('tollgate-quota-warning')).toBeUndefined();
    req.log.actualCost = 5;
    await hook!(req, response as unknown as StageResponse);
    expect(response.http.headers.get('tollgate-quota-warning')).toBe('used=80, quota=100, reset=3600');
  });

  it('leaves the read in flight as the pending admission, and warns nothing on its own refusal', async () => {
    let answer: (used: number) => void = () => undefined;
    const quota = createQuotaStage({
      meter: { monthUsed: () => new Promise((resolve) => (answer = resolve)), rebuildMonth: async () => 0 },
      monthTotal: async () => 0,
      failMode: 'open',
      logger: quiet,
      now: () => NOW,
    });
    const req = request(100);
    const hook = await quota.run(req);
    expect(req.admission?.stage).toBe('quota');
    answer(100);
    const refused = await req.admission!.decision;
    expect(refused?.extensions.code).toBe('QUOTA_EXCEEDED');
    expect(req.log.reason).toBe('monthly-quota');
    const response = { body: { kind: 'single', singleResult: {} }, http: { headers: new HeaderMap() } };
    await hook!(req, response as unknown as StageResponse);
    expect(response.http.headers.get('tollgate-quota-warning')).toBeUndefined();
  });

  it('rebuilds a counter it cannot trust from the month total', async () => {
    const { quota, calls } = stage(undefined);
    const error = await refusal(decided(quota, request(40)));
    expect(calls.rebuilt).toEqual([42]);
    expect(error?.extensions.code).toBe('QUOTA_EXCEEDED');
  });

  it('fails open by default when Redis does not answer, counting it, and closed with 503 when configured', async () => {
    const open = stage(new Error('Command timed out'));
    expect(await refusal(decided(open.quota, request(100)))).toBeUndefined();
    expect(open.quota.skipped()).toBe(1);
    const closed = stage(new Error('Command timed out'), { failMode: 'closed' });
    const error = await refusal(decided(closed.quota, request(100)));
    expect(error?.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect((error?.extensions.http as { status: number }).status).toBe(503);
  });
});
