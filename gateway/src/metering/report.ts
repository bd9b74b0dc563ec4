/**
 * Usage as counted (per tenant × credential × hour) and as reported (per month, optionally per credential). Pure:
 * merging what Redis holds with what MongoDB rolled up, and summing hours into a month.
 */

/** One counter set: what metering records per tenant × credential × hour. */
export interface UsageCounts {
  operations: number;
  costPoints: number;
  responseBytes: number;
  /** Refusals by error code. */
  refusals: Record<string, number>;
}

/** One hour of one credential of one tenant. */
export interface HourUsage extends UsageCounts {
  readonly hour: string;
  /** `jwt`, or an API key's id. */
  readonly credential: string;
}

export interface RefusalCount {
  readonly code: string;
  readonly count: number;
}

export interface CredentialUsage {
  readonly credential: string;
  readonly operations: number;
  readonly costPoints: number;
  readonly responseBytes: number;
  readonly refusals: RefusalCount[];
}

export interface UsageReport {
  readonly month: string;
  readonly operations: number;
  readonly costPoints: number;
  readonly responseBytes: number;
  readonly refusals: RefusalCount[];
  readonly quota: number | null;
  readonly remaining: number | null;
  /** Only when asked for by credential; at most `maxCredentials`, most cost points first. */
  readonly credentials: CredentialUsage[] | null;
  /** How many credentials were counted, listed or not; null unless asked for by credential. */
  readonly credentialCount: number | null;
  readonly credentialsTruncated: boolean;
}

/** How many credentials a report lists at most (the GraphQL field's `@listSize`). */
export const MAX_REPORTED_CREDENTIALS = 100;

export function emptyCounts(): UsageCounts {
  return { operations: 0, costPoints: 0, responseBytes: 0, refusals: {} };
}

/** Hash fields of the Redis counters: `o`, `c`, `b`, and `r:<CODE>` per refusal code. */
export const FIELD = { operations: 'o', costPoints: 'c', responseBytes: 'b', refusalPrefix: 'r:' } as const;

/** A Redis hash (HGETALL) as counts; unknown or malformed fields are ignored. */
export function countsFromHash(hash: Record<string, string>): UsageCounts {
  const counts = emptyCounts();
  for (const [field, raw] of Object.entries(hash)) {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) continue;
    if (field === FIELD.operations) counts.operations = n;
    else if (field === FIELD.costPoints) counts.costPoints = n;
    else if (field === FIELD.responseBytes) counts.responseBytes = n;
    else if (field.startsWith(FIELD.refusalPrefix)) counts.refusals[field.slice(FIELD.refusalPrefix.length)] = n;
  }
  return counts;
}

/**
 * One hour's counts from two sources that each saw a prefix of the same counting: a rollup in MongoDB (a snapshot of
 * Redis taken earlier) and Redis now. Counters only grow, so the larger of each is the later — unless Redis lost
 * the key and started again, when the rollup keeps what was counted before and the larger is still the better
 * lower bound. Field by field, so neither source can make a count go down.
 */
export function mergeCounts(a: UsageCounts, b: UsageCounts): UsageCounts {
  const refusals: Record<string, number> = { ...a.refusals };
  for (const [code, n] of Object.entries(b.refusals)) refusals[code] = Math.max(refusals[code] ?? 0, n);
  return {
    operations: Math.max(a.operations, b.operations),
    costPoints: Math.max(a.costPoints, b.costPoints),
    responseBytes: Math.max(a.responseBytes, b.responseBytes),
    refusals,
  };
}

function addInto(total: UsageCounts, add: UsageCounts): void {
  total.operations += add.operations;
  total.costPoints += add.costPoints;
  total.responseBytes += add.responseBytes;
  for (const [code, n] of Object.entries(add.refusals)) total.refusals[code] = (total.refusals[code] ?? 0) + n;
}

function refusalList(refusals: Record<string, number>): RefusalCount[] {
  return Object.entries(refusals)
    .filter(([, count]) => count > 0)
    .map(([code, count]) => ({ code, count }))
    .sort((x, y) => y.count - x.count || (x.code < y.code ? -1 : 1));
}

export interface SummaryOptions {
  readonly month: string;
  readonly byCredential: boolean;
  /** The plan's monthly cost-point quota, if it has one. */
  readonly quota?: number;
  readonly maxCredentials?: number;
}

/** A month's report built hour by hour, so a month of rollups is summed without being held in memory. */
export interface MonthSummary {
  add(hour: HourUsage): void;
  report(): UsageReport;
}

export function createMonthSummary(options: SummaryOptions): MonthSummary {
  const total = emptyCounts();
  const perCredential = new Map<string, UsageCounts>();
  const monthDigits = options.month.replace('-', '');
  const max = options.maxCredentials ?? MAX_REPORTED_CREDENTIALS;
  return {
    add(hour) {
      // Hours of another month are the caller's mistake and are skipped.
      if (!hour.hour.startsWith(monthDigits)) return;
      addInto(total, hour);
      if (!options.byCredential) return;
      let counts = perCredential.get(hour.credential);
      if (!counts) perCredential.set(hour.credential, (counts = emptyCounts()));
      addInto(counts, hour);
    },
    report() {
      const credentials = options.byCredential
        ? [...perCredential.entries()]
            .map(([credential, c]) => ({
              credential,
              operations: c.operations,
              costPoints: c.costPoints,
              responseBytes: c.responseBytes,
              refusals: refusalList(c.refusals),
            }))
            .sort((x, y) => y.costPoints - x.costPoints || (x.credential < y.credential ? -1 : 1))
        : null;
      const quota = options.quota ?? null;
      return {
        month: options.month,
        operations: total.operations,
        costPoints: total.costPoints,
        responseBytes: total.responseBytes,
        refusals: refusalList(total.refusals),
        quota,
        remaining: quota === null ? null : Math.max(0, quota - total.costPoints),
        credentials: credentials ? credentials.slice(0, max) : null,
        credentialCount: credentials ? credentials.length : null,
        credentialsTruncated: credentials !== null && credentials.length > max,
      };
    },
  };
}

/** Sums hours into the month's report. */
export function summarize(hours: Iterable<HourUsage>, options: SummaryOptions): UsageReport {
  const summary = createMonthSummary(options);
  for (const hour of hours) summary.add(hour);
  return summary.report();
}
