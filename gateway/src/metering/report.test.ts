import { countsFromHash, mergeCounts, summarize, type HourUsage } from './report';

const hour = (h: string, credential: string, costPoints: number, refusals: Record<string, number> = {}): HourUsage => ({
  hour: h,
  credential,
  operations: 1 + Object.values(refusals).reduce((a, b) => a + b, 0),
  costPoints,
  responseBytes: costPoints * 10,
  refusals,
});

describe('rollup merge', () => {
  it('keeps the larger of each count, so neither a stale rollup nor a restarted Redis hash makes one go down', () => {
    const rolled = { operations: 10, costPoints: 50, responseBytes: 900, refusals: { RATE_LIMITED: 2 } };
    const live = { operations: 12, costPoints: 48, responseBytes: 1_000, refusals: { FORBIDDEN: 1 } };
    expect(mergeCounts(rolled, live)).toEqual({
      operations: 12,
      costPoints: 50,
      responseBytes: 1_000,
      refusals: { RATE_LIMITED: 2, FORBIDDEN: 1 },
    });
    // Merging the same totals again changes nothing (the rollup is idempotent).
    expect(mergeCounts(mergeCounts(rolled, live), live)).toEqual(mergeCounts(rolled, live));
  });

  it('reads a Redis hash and ignores fields that are not counts', () => {
    expect(
      countsFromHash({ o: '3', c: '17', b: '512', 'r:QUOTA_EXCEEDED': '1', x: '5', 'r:BAD': '-1', c2: 'z' }),
    ).toEqual({
      operations: 3,
      costPoints: 17,
      responseBytes: 512,
      refusals: { QUOTA_EXCEEDED: 1 },
    });
  });
});

describe('a month summed from its hours', () => {
  const hours = [
    hour('2026120100', 'jwt', 5),
    hour('2026120101', 'jwt', 7, { FORBIDDEN: 1 }),
    hour('2026120101', 'AbCdEf123456', 11, { RATE_LIMITED: 2 }),
    // Another month: skipped.
    hour('2026113023', 'jwt', 1_000),
  ];

  it('totals the month, lists refusals most frequent first, and states the quota left', () => {
    expect(summarize(hours, { month: '2026-12', byCredential: false, quota: 20 })).toEqual({
      month: '2026-12',
      operations: 1 + 2 + 3,
      costPoints: 23,
      responseBytes: 230,
      refusals: [
        { code: 'RATE_LIMITED', count: 2 },
        { code: 'FORBIDDEN', count: 1 },
      ],
      quota: 20,
      remaining: 0,
      credentials: null,
      credentialCount: null,
      credentialsTruncated: false,
    });
    expect(summarize(hours, { month: '2026-12', byCredential: false }).remaining).toBeNull();
  });

  it('per credential, most cost points first, bounded', () => {
    const report = summarize(hours, { month: '2026-12', byCredential: true });
    expect(report.credentials?.map((c) => [c.credential, c.costPoints, c.operations])).toEqual([
      ['jwt', 12, 3],
      ['AbCdEf123456', 11, 3],
    ]);
    const bounded = summarize(hours, { month: '2026-12', byCredential: true, maxCredentials: 1 });
    expect(bounded.credentials).toHaveLength(1);
    expect(bounded.credentialsTruncated).toBe(true);
    expect(bounded.credentialCount).toBe(2);
    // The totals still count every credential.
    expect(bounded.costPoints).toBe(23);
  });
});
