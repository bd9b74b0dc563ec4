/**
 * What of an operation's variables goes into the audit trail. Deny by default: a string is kept in clear only
 * when its name says it is an identifier (`id`, `productId`, `ids`) or it is an enum-shaped constant (`PAID`) —
 * and even then not if it looks like an e-mail address or a credential (common/secret-shapes.ts). Every other string
 * becomes `hmac:<32 hex>` — HMAC-SHA-256 under a key of the gateway's, so an auditor can tell "the same value
 * twice" and check a value they already know, but a reader of the collection learns nothing. Integers and booleans
 * stay; other numbers become strings (canonical.ts takes no floats). Bounded in depth, width and length: the
 * variables were bounded at the HTTP layer already, the audit line is bounded again.
 */
import { createHmac } from 'node:crypto';
import { containsCredential } from '../../../common/secret-shapes';

export interface RedactOptions {
  hmacKey: Buffer;
  /** Levels of objects/lists kept; deeper is `[deep]`. */
  maxDepth?: number;
  /** Keys per object and items per list kept; the rest is counted in `…`. */
  maxWidth?: number;
  /** Characters of a clear string kept. */
  maxStringLength?: number;
}

const ID_NAME = /^id$|Id$|^ids$|Ids$|_id$/;
const ENUM_VALUE = /^[A-Z][A-Z0-9_]{0,63}$/;
const EMAIL_LIKE = /@/;

export function redactVariables(
  variables: Readonly<Record<string, unknown>>,
  options: RedactOptions,
): Record<string, unknown> {
  const maxDepth = options.maxDepth ?? 6;
  const maxWidth = options.maxWidth ?? 50;
  const maxLength = options.maxStringLength ?? 128;
  const hmac = (value: string) =>
    `hmac:${createHmac('sha256', options.hmacKey).update(value).digest('hex').slice(0, 32)}`;

  const walk = (value: unknown, name: string, depth: number): unknown => {
    if (value === null || typeof value === 'boolean') return value;
    if (typeof value === 'number') return Number.isSafeInteger(value) ? value : String(value);
    if (typeof value === 'string') {
      const clear =
        (ID_NAME.test(name) || ENUM_VALUE.test(value)) && !EMAIL_LIKE.test(value) && !containsCredential(value);
      return clear && value.length <= maxLength ? value : hmac(value);
    }
    if (depth >= maxDepth) return '[deep]';
    if (Array.isArray(value)) {
      const items = value.slice(0, maxWidth).map((item) => walk(item, name, depth + 1));
      if (value.length > maxWidth) items.push(`…${value.length - maxWidth} more`);
      return items;
    }
    if (typeof value === 'object') {
      const out: Record<string, unknown> = {};
      const keys = Object.keys(value);
      for (const key of keys.slice(0, maxWidth)) {
        // Keys come from the client too: one that is not a GraphQL name is hashed like a value.
        const safeKey = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/.test(key) ? key : hmac(key);
        out[safeKey] = walk((value as Record<string, unknown>)[key], key, depth + 1);
      }
      if (keys.length > maxWidth) out['…'] = `${keys.length - maxWidth} more`;
      return out;
    }
    return '[unsupported]';
  };
  return walk(variables, '', 0) as Record<string, unknown>;
}

/** A principal that is an e-mail address (some issuers put one in `sub`) is hashed like a variable. */
export function redactPrincipal(principal: string, hmacKey: Buffer): string {
  if (!EMAIL_LIKE.test(principal) && !containsCredential(principal)) return principal;
  return `hmac:${createHmac('sha256', hmacKey).update(principal).digest('hex').slice(0, 32)}`;
}

/** The redaction key: derived, so the internal secret itself never meets an HMAC input a client chose. */
export function redactionKey(internalSecret: Buffer): Buffer {
  return createHmac('sha256', internalSecret).update('tollgate audit redaction v1').digest();
}
