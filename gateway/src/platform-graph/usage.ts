/**
 * The `usage` field's resolver. The tenant is the authenticated caller's (the request context the gateway built from
 * the verified credential), never an argument: there is no argument naming a tenant at all.
 */
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../request';
import { parseMonth } from '../metering/buckets';
import type { UsageReport } from '../metering/report';

/** What the resolver asks of metering (metering/reader.ts). */
export interface UsageReader {
  /** The tenant's usage in `month` (YYYY-MM), per credential when `byCredential`. */
  monthUsage(tenantId: string, month: string, byCredential: boolean): Promise<UsageReport>;
}

/** The page size's bounds (1–100) are the limits stage's, from `@listSize`; the default is the SDL's. */
export function credentialsResolver(report: UsageReport, args: { first?: unknown }): UsageReport['credentials'] {
  const first = typeof args.first === 'number' ? args.first : 20;
  return report.credentials === null ? null : report.credentials.slice(0, Math.max(0, first));
}

export function usageResolver(reader: UsageReader) {
  return async (
    _parent: unknown,
    args: { month?: unknown; byKey?: unknown },
    context: Partial<GatewayContext> | undefined,
  ): Promise<UsageReport> => {
    const tenantId = context?.caller?.tenantId;
    // The gateway only runs operations for an authenticated caller; without one, fail closed and say nothing.
    if (!tenantId) throw new GraphQLError('Forbidden', { extensions: { code: 'FORBIDDEN' } });
    const month = typeof args.month === 'string' ? args.month : '';
    if (!parseMonth(month))
      throw new GraphQLError('month must be a month as YYYY-MM', { extensions: { code: 'BAD_USER_INPUT' } });
    return reader.monthUsage(tenantId, month, args.byKey === true);
  };
}
