/**
 * Redis keys of the cost budgets. A key is built only from validated parts: the tenant id is a slug, the credential
 * kind a short alphanumeric word, and the principal — free text from a token's `sub` — is hashed, so no `:`, `*`,
 * `{` or `}` from a caller can change which key (or which cluster slot) is touched.
 */
import { createHash } from 'node:crypto';
import { isTenantId } from '../../../common/ids';

/** Whose budget: one bucket per tenant × credential (a JWT subject, an API key id). */
export interface BudgetSubject {
  readonly tenantId: string;
  /** The kind of credential the principal comes from: `Caller.credential`, `jwt` or `apiKey`. */
  readonly credential: string;
  readonly principal: string;
}

export const DEFAULT_KEY_PREFIX = 'tollgate:budget:v1';

const PREFIX_PATTERN = /^[a-z0-9-]+(?::[a-z0-9-]+)*$/;
const CREDENTIAL_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,15}$/;

export class InvalidBudgetSubjectError extends Error {
  constructor(part: string) {
    super(`invalid budget subject: ${part}`);
    this.name = 'InvalidBudgetSubjectError';
  }
}

export function assertKeyPrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) throw new InvalidBudgetSubjectError('key prefix');
  return prefix;
}

export function budgetKey(subject: BudgetSubject, prefix: string = DEFAULT_KEY_PREFIX): string {
  assertKeyPrefix(prefix);
  if (!isTenantId(subject.tenantId)) throw new InvalidBudgetSubjectError('tenant id');
  if (!CREDENTIAL_PATTERN.test(subject.credential)) throw new InvalidBudgetSubjectError('credential');
  if (typeof subject.principal !== 'string' || subject.principal.length === 0) {
    throw new InvalidBudgetSubjectError('principal');
  }
  // 128 bits: collisions between principals of one tenant are not a practical concern.
  const principal = createHash('sha256').update(subject.principal).digest('hex').slice(0, 32);
  // `{tenant}` is a Redis Cluster hash tag: every bucket of a tenant lives in one slot, so a script may take
  // several of them together and a multi-key command over one tenant never spans nodes (redis/connect.ts).
  return `${prefix}:{${subject.tenantId}}:${subject.credential}:${principal}`;
}
