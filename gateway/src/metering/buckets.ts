/**
 * Time buckets of usage metering, in UTC: an hour (`2026120713`, the counters' and rollups' unit), a month (`2026-12`,
 * the quota's and the reports' unit), and when the next month starts (the quota's `Retry-After`). Pure functions of
 * a timestamp in milliseconds; no clock is read here.
 */

/** A month as clients and the CLI write it. */
const MONTH_PATTERN = /^(\d{4})-(\d{2})$/;

export interface Month {
  readonly year: number;
  /** 1–12. */
  readonly month: number;
}

/** `YYYY-MM` with a month 01–12 and a year 2000–9999; undefined for anything else. */
export function parseMonth(text: string): Month | undefined {
  if (typeof text !== 'string' || text.length !== 7) return undefined;
  const match = MONTH_PATTERN.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  if (year < 2000 || month < 1 || month > 12) return undefined;
  return { year, month };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `YYYY-MM` of the instant, UTC. */
export function monthOf(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}`;
}

/** `YYYYMMDDHH` of the instant, UTC: sorts as time does, and its first six digits are the month. */
export function hourOf(ms: number): string {
  const d = new Date(ms);
  return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) + pad(d.getUTCHours(), 2);
}

/** `YYYY-MM` of an hour bucket. */
export function monthOfHour(hour: string): string {
  return `${hour.slice(0, 4)}-${hour.slice(4, 6)}`;
}

/** The start of the hour bucket before, as an hour bucket. */
export function previousHour(ms: number): string {
  return hourOf(Math.floor(ms / 3_600_000) * 3_600_000 - 1);
}

/** Milliseconds since the epoch at which the month after the instant's month starts (UTC). */
export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * `Retry-After` for a quota refusal: whole seconds until the next month starts, rounded up so a client that waits
 * exactly that long is in the new month; at least 1.
 */
export function secondsUntilNextMonth(ms: number): number {
  return Math.max(1, Math.ceil((nextMonthStart(ms) - ms) / 1000));
}

/** The hour buckets of the `count` hours up to and including the instant's, newest first. */
export function recentHours(ms: number, count: number): string[] {
  const start = Math.floor(ms / 3_600_000) * 3_600_000;
  const hours: string[] = [];
  for (let i = 0; i < count; i++) hours.push(hourOf(start - i * 3_600_000));
  return hours;
}
