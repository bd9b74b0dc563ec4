/**
 * `tollgate usage --tenant acme --month 2026-12 [--by key] [--json|--csv]`: a tenant's metered usage in a month (UTC),
 * from the control plane's `usage` rollups merged with the counters Redis still holds (gateway/src/metering), so
 * it includes what the gateways counted since their last rollup. Redis unreachable: the rollups alone, with a
 * warning on stderr.
 */
import { createLogger } from '../common/logger';
import { isTenantId } from '../common/ids';
import { createBudgetRedis } from '../gateway/src/budget/redis';
import { monthOf, parseMonth } from '../gateway/src/metering/buckets';
import { createUsageReader } from '../gateway/src/metering/reader';
import { usageKeyPrefix } from '../gateway/src/metering/keys';
import type { CredentialUsage, RefusalCount, UsageReport } from '../gateway/src/metering/report';
import { UsageError, oneOf, required, string, table, type Command } from './command';

function refusalText(refusals: readonly RefusalCount[]): string {
  return refusals.length === 0 ? '-' : refusals.map((r) => `${r.code}=${r.count}`).join(' ');
}

type Row = Pick<CredentialUsage, 'operations' | 'costPoints' | 'responseBytes' | 'refusals'> & { credential: string };

function rowsOf(report: UsageReport): Row[] {
  const total: Row = { credential: 'total', ...report };
  return [...(report.credentials ?? []), total];
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function usageCsv(report: UsageReport): string {
  const header = ['month', 'credential', 'operations', 'cost_points', 'response_bytes', 'refusals'];
  const lines = rowsOf(report).map((row) =>
    [report.month, row.credential, row.operations, row.costPoints, row.responseBytes, refusalText(row.refusals)]
      .map(csvField)
      .join(','),
  );
  return [header.join(','), ...lines].join('\n');
}

function usageText(tenantId: string, report: UsageReport): string {
  const quota = report.quota === null ? 'none' : `${report.quota} cost points, ${report.remaining ?? 0} remaining`;
  return [
    `tenant ${tenantId}, ${report.month} (UTC); monthly quota: ${quota}`,
    table(
      ['CREDENTIAL', 'OPERATIONS', 'COST POINTS', 'RESPONSE BYTES', 'REFUSALS'],
      rowsOf(report).map((row) => [
        row.credential,
        String(row.operations),
        String(row.costPoints),
        String(row.responseBytes),
        refusalText(row.refusals),
      ]),
    ),
    ...(report.credentialsTruncated ? ['(only the 100 credentials with the most cost points are listed)'] : []),
  ].join('\n');
}

const USAGE: Command = {
  usage: 'usage --tenant <id> [--month <YYYY-MM>] [--by key] [--csv]',
  summary:
    "A tenant's metered usage in a month (UTC; the current one by default): operations, cost points, response bytes, refusals by code, the quota; per credential (`jwt` or the API key id) with --by key.",
  options: {
    tenant: { type: 'string' },
    month: { type: 'string' },
    by: { type: 'string' },
    csv: { type: 'boolean' },
  },
  async run({ values, io, config, controlPlane, print }) {
    const tenantId = required(values, 'tenant');
    if (!isTenantId(tenantId)) throw new UsageError('--tenant must be a tenant id such as "acme"');
    const month = string(values, 'month') ?? monthOf(Date.now());
    if (!parseMonth(month)) throw new UsageError('--month must be a month written YYYY-MM');
    const by = string(values, 'by');
    const byCredential = by !== undefined && oneOf(by, ['key'] as const, '--by') === 'key';
    if (values.csv && values.json) throw new UsageError('--csv and --json exclude each other');
    const plane = await controlPlane();
    const tenant = await plane.tenants.getTenant(tenantId);
    if (!tenant) throw new Error(`no tenant ${tenantId}`);
    const redis = createBudgetRedis(config().redisUrl, { commandTimeoutMs: 2_000 });
    try {
      // The client sends nothing before it is connected (no offline queue): give it a moment, then go without.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const reader = createUsageReader({
        redis,
        keyPrefix: usageKeyPrefix(plane.dbName),
        store: plane.usage,
        quotaOf: async () => tenant.plan.limits.monthlyCostQuota,
        logger: createLogger({
          sink: () => io.stderr('tollgate: warning: Redis unavailable; the report shows the rollups only\n'),
          level: 'warn',
        }),
      });
      const report = await reader.monthUsage(tenantId, month, byCredential);
      if (values.csv) io.stdout(`${usageCsv(report)}\n`);
      else print(report, () => usageText(tenantId, report));
    } finally {
      redis.disconnect();
    }
  },
};

export const USAGE_COMMANDS: Record<string, Command> = { usage: USAGE };
