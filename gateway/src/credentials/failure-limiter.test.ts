import { createFailureLimiter, type FailureLimiterOptions } from './failure-limiter';

describe('failure limiter', () => {
  let now: number;
  const limiter = (overrides: Partial<FailureLimiterOptions> = {}) =>
    createFailureLimiter({
      maxFailures: 3,
      windowMs: 10_000,
      blockMs: 60_000,
      maxEntries: 100,
      now: () => now,
      ...overrides,
    });

  beforeEach(() => {
    now = 1_000_000;
  });

  it('holds a client back once it reaches the threshold within the window, for the hold period', () => {
    const l = limiter();
    expect(l.recordFailure('1.2.3.4')).toBe(0);
    expect(l.recordFailure('1.2.3.4')).toBe(0);
    expect(l.heldBackFor('1.2.3.4')).toBe(0);
    expect(l.recordFailure('1.2.3.4')).toBe(60_000);
    now += 15_000;
    expect(l.heldBackFor('1.2.3.4')).toBe(45_000);
    expect(l.heldBackFor('5.6.7.8')).toBe(0);
    now += 45_000;
    expect(l.heldBackFor('1.2.3.4')).toBe(0);
  });

  it('starts a new window when the old one ended without reaching the threshold', () => {
    const l = limiter();
    l.recordFailure('a');
    l.recordFailure('a');
    now += 10_000;
    expect(l.recordFailure('a')).toBe(0);
    expect(l.recordFailure('a')).toBe(0);
    expect(l.recordFailure('a')).toBe(60_000);
  });

  it('does not count failures during a hold, and counts from zero after it', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.recordFailure('a');
    now += 1_000;
    for (let i = 0; i < 10; i++) expect(l.recordFailure('a')).toBe(59_000);
    now += 59_000;
    expect(l.recordFailure('a')).toBe(0);
    expect(l.recordFailure('a')).toBe(0);
    expect(l.recordFailure('a')).toBe(60_000);
  });

  it('tracks at most maxEntries clients, dropping the least recently failing', () => {
    const l = limiter({ maxEntries: 50, maxFailures: 2 });
    l.recordFailure('attacker');
    l.recordFailure('attacker');
    expect(l.heldBackFor('attacker')).toBe(60_000);
    for (let i = 0; i < 49; i++) l.recordFailure(`made-up-${i}`);
    expect(l.size).toBe(50);
    expect(l.heldBackFor('attacker')).toBe(60_000);
    for (let i = 49; i < 10_000; i++) l.recordFailure(`made-up-${i}`);
    expect(l.size).toBe(50);
    // Pushed out by 10,000 made-up clients: the price of bounded memory, documented in the module.
    expect(l.heldBackFor('attacker')).toBe(0);
    expect(l.heldBackFor('made-up-9999')).toBe(0);
  });

  it('with a threshold of one holds back at the first failure', () => {
    expect(limiter({ maxFailures: 1 }).recordFailure('a')).toBe(60_000);
  });

  it('refuses nonsensical settings', () => {
    expect(() => limiter({ maxFailures: 0 })).toThrow('at least 1');
    expect(() => limiter({ maxEntries: 0 })).toThrow('at least 1');
  });
});
