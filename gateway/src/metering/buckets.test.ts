import {
  hourOf,
  monthOf,
  monthOfHour,
  nextMonthStart,
  parseMonth,
  previousHour,
  recentHours,
  secondsUntilNextMonth,
} from './buckets';

const at = (iso: string) => Date.parse(iso);

describe('hour and month buckets (UTC)', () => {
  it('names the hour and the month of an instant in UTC, whatever the local zone', () => {
    expect(hourOf(at('2026-12-07T03:59:59.999Z'))).toBe('2026120703');
    expect(hourOf(at('2026-12-07T04:00:00.000Z'))).toBe('2026120704');
    expect(monthOf(at('2026-12-31T23:59:59.999Z'))).toBe('2026-12');
    expect(monthOf(at('2027-01-01T00:00:00.000Z'))).toBe('2027-01');
    expect(monthOfHour('2026120703')).toBe('2026-12');
  });

  it('goes back across a day, a month and a year', () => {
    expect(previousHour(at('2027-01-01T00:30:00Z'))).toBe('2026123123');
    expect(recentHours(at('2026-03-01T01:10:00Z'), 3)).toEqual(['2026030101', '2026030100', '2026022823']);
    expect(recentHours(at('2026-03-01T01:10:00Z'), 0)).toEqual([]);
  });

  it('reads YYYY-MM and nothing else', () => {
    expect(parseMonth('2026-12')).toEqual({ year: 2026, month: 12 });
    expect(parseMonth('2026-01')).toEqual({ year: 2026, month: 1 });
    for (const bad of ['2026-13', '2026-00', '2026-1', '26-12', '2026-12-01', ' 2026-12', '1999-12', '2026/12', ''])
      expect(parseMonth(bad)).toBeUndefined();
    expect(parseMonth(42 as unknown as string)).toBeUndefined();
  });
});

describe('Retry-After to next month', () => {
  it('is the whole seconds until the first instant of the next month, rounded up', () => {
    expect(nextMonthStart(at('2026-12-15T10:00:00Z'))).toBe(at('2027-01-01T00:00:00Z'));
    expect(nextMonthStart(at('2026-02-28T23:59:59Z'))).toBe(at('2026-03-01T00:00:00Z'));
    expect(secondsUntilNextMonth(at('2026-12-31T23:59:00Z'))).toBe(60);
    expect(secondsUntilNextMonth(at('2026-12-31T23:59:59.001Z'))).toBe(1);
    // A month's first instant waits for the whole month, not zero.
    expect(secondsUntilNextMonth(at('2026-11-01T00:00:00Z'))).toBe(30 * 86_400);
  });

  it('is never less than one second', () => {
    expect(secondsUntilNextMonth(at('2026-12-31T23:59:59.999Z'))).toBe(1);
  });
});
