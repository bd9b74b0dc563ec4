import { applyStep, MemoryBuckets, secondsUntilAvailable, secondsUntilFull, throttleStatus } from './bucket';

const POLICY = { capacity: 100, restoreRate: 10 };

describe('applyStep', () => {
  it('starts a missing bucket full', () => {
    expect(applyStep(undefined, POLICY, 30, true)).toEqual({ applied: true, available: 70 });
  });

  it('refills for the elapsed time, up to the capacity', () => {
    // 20 + 3 s × 10/s = 50, minus 5
    expect(applyStep({ available: 20, elapsedSeconds: 3 }, POLICY, 5, true)).toEqual({ applied: true, available: 45 });
    expect(applyStep({ available: 90, elapsedSeconds: 60 }, POLICY, 0, true)).toEqual({
      applied: true,
      available: 100,
    });
  });

  it('treats a clock that went back as no time elapsed', () => {
    expect(applyStep({ available: 20, elapsedSeconds: -5 }, POLICY, 0, false)).toEqual({
      applied: true,
      available: 20,
    });
  });

  it('does not overdraw when conditional, and reports what is available', () => {
    expect(applyStep({ available: 20, elapsedSeconds: 0 }, POLICY, 30, true)).toEqual({
      applied: false,
      available: 20,
    });
  });

  it('goes into debt when unconditional, never below -capacity', () => {
    expect(applyStep({ available: 20, elapsedSeconds: 0 }, POLICY, 50, false)).toEqual({
      applied: true,
      available: -30,
    });
    expect(applyStep({ available: 20, elapsedSeconds: 0 }, POLICY, 5_000, false)).toEqual({
      applied: true,
      available: -100,
    });
  });

  it('gives points back with a negative amount, never above capacity', () => {
    expect(applyStep({ available: 20, elapsedSeconds: 0 }, POLICY, -30, false)).toEqual({
      applied: true,
      available: 50,
    });
    expect(applyStep({ available: 90, elapsedSeconds: 0 }, POLICY, -30, false)).toEqual({
      applied: true,
      available: 100,
    });
  });

  it('applies pending settlements before the reservation, unconditionally', () => {
    // 20 + 30 given back = 50, then 40 fits
    expect(applyStep({ available: 20, elapsedSeconds: 0 }, POLICY, 40, true, -30)).toEqual({
      applied: true,
      available: 10,
    });
    // 20 − 10 charged = 10: 20 no longer fits, and the refusal reports the bucket with the pending part applied
    expect(applyStep({ available: 20, elapsedSeconds: 0 }, POLICY, 20, true, 10)).toEqual({
      applied: false,
      available: 10,
    });
    // refill first: 20 + 3 s × 10/s = 50, minus 60 pending = -10
    expect(applyStep({ available: 20, elapsedSeconds: 3 }, POLICY, 0, false, 60)).toEqual({
      applied: true,
      available: -10,
    });
  });

  it('clamps the pending part and the reservation each on its own', () => {
    // 90 + 50 → 100 (not 140), then 30 taken → 70
    expect(applyStep({ available: 90, elapsedSeconds: 0 }, POLICY, 30, true, -50)).toEqual({
      applied: true,
      available: 70,
    });
    // -90 − 50 → -100, then 5 more → still -100
    expect(applyStep({ available: -90, elapsedSeconds: 0 }, POLICY, 5, false, 50)).toEqual({
      applied: true,
      available: -100,
    });
    // a missing bucket is full: 100 − 20 = 80
    expect(applyStep(undefined, POLICY, 0, false, 20)).toEqual({ applied: true, available: 80 });
  });
});

describe('bucket arithmetic for clients', () => {
  it('says when an amount fits again, and when the bucket is full', () => {
    // 35 missing at 10/s → 4 s (rounded up)
    expect(secondsUntilAvailable(POLICY, 15, 50)).toBe(4);
    expect(secondsUntilAvailable(POLICY, 15, 101)).toBeUndefined();
    // 85 missing at 10/s → 9 s
    expect(secondsUntilFull(POLICY, 15)).toBe(9);
    expect(secondsUntilFull(POLICY, 100)).toBe(0);
    expect(throttleStatus(POLICY, 15.9)).toEqual({ maximumAvailable: 100, currentlyAvailable: 15, restoreRate: 10 });
  });
});

describe('MemoryBuckets', () => {
  it('keeps one bucket per key on its own clock and forgets full buckets', () => {
    let now = 0;
    const buckets = new MemoryBuckets(10, () => now);
    expect(buckets.step('a', POLICY, 60, true)).toEqual({ applied: true, available: 40 });
    expect(buckets.step('a', POLICY, 60, true)).toEqual({ applied: false, available: 40 });
    expect(buckets.step('b', POLICY, 60, true)).toEqual({ applied: true, available: 40 });
    now += 2_000;
    // 40 + 2 s × 10 = 60
    expect(buckets.step('a', POLICY, 60, true)).toEqual({ applied: true, available: 0 });
    now += 60_000;
    buckets.step('a', POLICY, 0, false);
    expect(buckets.size).toBe(1);
  });

  it('drops the least recently used bucket beyond its bound', () => {
    const buckets = new MemoryBuckets(2, () => 0);
    buckets.step('a', POLICY, 10, true);
    buckets.step('b', POLICY, 10, true);
    buckets.step('a', POLICY, 10, true);
    buckets.step('c', POLICY, 10, true);
    expect(buckets.size).toBe(2);
    // `b` was dropped, so it starts full again; `a` kept its 80.
    expect(buckets.step('b', POLICY, 0, true).available).toBe(100);
    expect(buckets.step('a', POLICY, 0, true).available).toBe(80);
  });
});
