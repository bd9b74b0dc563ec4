/**
 * Validation of the identifiers that end up in database filters, Redis keys and log lines.
 * Anything that reaches those places goes through here first: a `:`, `*` or `{` inside an id would change
 * which key is touched, and a non-string would change which documents a filter matches.
 */
import { createHash } from 'node:crypto';

/** Tenant ids are slugs: lower-case letters, digits and inner hyphens, 2–40 characters. */
export const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

export function isTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID_PATTERN.test(value) && !value.includes('--');
}

/** Object ids are 24 lower-case hex characters, the MongoDB ObjectId text form. */
const OBJECT_ID_PATTERN = /^[0-9a-f]{24}$/;

export function isObjectIdHex(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID_PATTERN.test(value);
}

/** Roles a caller can hold within a tenant. */
export const ROLES = ['admin', 'staff', 'customer', 'developer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * A user's id is derived from the tenant and the e-mail address, which are unique together, so a development
 * token for `--user admin@acme.test` names the seeded user without asking the database. Ids are not secrets.
 */
export function userIdFor(tenantId: string, email: string): string {
  return createHash('sha256')
    .update(`tollgate-user:${tenantId}:${email.trim().toLowerCase()}`)
    .digest('hex')
    .slice(0, 24);
}
