/**
 * Redis keys of usage metering, `tollgate:usage:v1:<control db>:{<tenant>}:…`. Every key of a tenant carries `{tenant}` as a Redis Cluster hash tag, so the one
 * script a request runs (meter.ts) touches a single slot. Keys are built only from validated parts: the tenant id is
 * a slug, the credential `jwt` or an API key id (12 letters and digits), the buckets digits.
 */
import { isTenantId } from '../../../common/ids';

const KEY_PREFIX = 'tollgate:usage:v1';
const CONTROL_DB = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * The counters belong to a control plane, as the rollups they feed do: its database's name is part of every key, so
 * two deployments (or two test runs) sharing one Redis never count into each other's usage or quota.
 */
export function usageKeyPrefix(controlDbName: string): string {
  if (!CONTROL_DB.test(controlDbName)) throw new Error('usage key: invalid control-plane database name');
  return `${KEY_PREFIX}:${controlDbName}`;
}

/** What metering calls the credentials of a tenant: every JWT together, or one API key by its id. */
export const JWT_CREDENTIAL = 'jwt';
const KEY_ID = /^[A-Za-z0-9]{12}$/;
const HOUR = /^\d{10}$/;
const MONTH_DIGITS = /^\d{6}$/;

export function isCredentialLabel(value: unknown): value is string {
  return value === JWT_CREDENTIAL || (typeof value === 'string' && KEY_ID.test(value));
}

function check(tenantId: string): void {
  if (!isTenantId(tenantId)) throw new Error('usage key: invalid tenant id');
}

/** The hash of one tenant × credential × hour. */
export function hourKey(prefix: string, tenantId: string, hour: string, credential: string): string {
  check(tenantId);
  if (!HOUR.test(hour) || !isCredentialLabel(credential)) throw new Error('usage key: invalid hour or credential');
  return `${prefix}:{${tenantId}}:h:${hour}:${credential}`;
}

/** The set of credentials counted for a tenant in an hour: what the rollup and the reader enumerate. */
export function hourIndexKey(prefix: string, tenantId: string, hour: string): string {
  check(tenantId);
  if (!HOUR.test(hour)) throw new Error('usage key: invalid hour');
  return `${prefix}:{${tenantId}}:i:${hour}`;
}

/** The month's cost points, for the quota; `month` is `YYYY-MM`. */
export function monthKey(prefix: string, tenantId: string, month: string): string {
  check(tenantId);
  const digits = month.replace('-', '');
  if (!MONTH_DIGITS.test(digits)) throw new Error('usage key: invalid month');
  return `${prefix}:{${tenantId}}:m:${digits}`;
}

/**
 * Present while the month counter is trusted: set when it was (re)built from the month's usage, lost with it. The
 * hot path counts into the month counter only while this exists, so a counter never starts from zero mid-month.
 */
export function monthBaseKey(prefix: string, tenantId: string, month: string): string {
  return `${monthKey(prefix, tenantId, month)}:base`;
}
