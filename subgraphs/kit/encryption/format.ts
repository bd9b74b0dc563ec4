/**
 * The at-rest format of an encrypted field value, and the blind index of an e-mail address. Pure functions over
 * keys the caller holds (key-store.ts finds them).
 *
 *   v1:<keyVersion>:<iv>:<ciphertext+tag>        iv and ciphertext+tag in base64url, keyVersion a decimal integer
 *
 * AES-256-GCM with a random 96-bit IV per value. The associated data binds a value to its tenant, its field and its
 * key version: a ciphertext copied into another tenant's document (or into another field) fails authentication
 * instead of decrypting, even were the two tenants' keys the same.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export const FORMAT_PREFIX = 'v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;
/** Key versions are small positive integers; bounded so a hostile value cannot make us parse a huge number. */
export const MAX_KEY_VERSION = 1_000_000;
const VERSION = /^[1-9]\d{0,6}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

/** Thrown for a value that is not in the format or does not authenticate; its message never carries the value. */
export class CiphertextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CiphertextError';
  }
}

/** What a value is bound to: its tenant and field (e.g. `users.email`). */
export interface ValueContext {
  tenantId: string;
  field: string;
}

function associatedData(context: ValueContext, keyVersion: number): Buffer {
  // Lengths first, so that no two different contexts concatenate to the same bytes.
  return Buffer.from(
    `tollgate-field:v1:${context.tenantId.length}:${context.tenantId}:${context.field.length}:${context.field}:${keyVersion}`,
    'utf8',
  );
}

function checkKey(key: Buffer): void {
  if (key.length !== DATA_KEY_BYTES) throw new CiphertextError('a data key is 32 bytes');
}

/** True when `value` looks like an encrypted value (it may still fail to decrypt). */
export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(FORMAT_PREFIX);
}

/** The key version a sealed value names, or undefined when the value is not in the format. */
export function keyVersionOf(value: string): number | undefined {
  if (!isSealed(value)) return undefined;
  const end = value.indexOf(':', FORMAT_PREFIX.length);
  const version = value.slice(FORMAT_PREFIX.length, end);
  return end > 0 && VERSION.test(version) ? Number(version) : undefined;
}

export function seal(key: Buffer, keyVersion: number, context: ValueContext, plaintext: string): string {
  checkKey(key);
  if (!Number.isInteger(keyVersion) || keyVersion < 1 || keyVersion > MAX_KEY_VERSION)
    throw new CiphertextError('invalid key version');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(context, keyVersion));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${FORMAT_PREFIX}${keyVersion}:${iv.toString('base64url')}:${body.toString('base64url')}`;
}

/** Splits a sealed value; throws CiphertextError when it is not one. */
export function parseSealed(value: string): { keyVersion: number; iv: Buffer; body: Buffer } {
  if (!isSealed(value)) throw new CiphertextError('not an encrypted value');
  const parts = value.slice(FORMAT_PREFIX.length).split(':');
  if (parts.length !== 3) throw new CiphertextError('malformed encrypted value');
  const [version, iv, body] = parts as [string, string, string];
  if (!VERSION.test(version) || !B64URL.test(iv) || !B64URL.test(body))
    throw new CiphertextError('malformed encrypted value');
  const ivBytes = Buffer.from(iv, 'base64url');
  const bodyBytes = Buffer.from(body, 'base64url');
  if (ivBytes.length !== IV_BYTES || bodyBytes.length < TAG_BYTES)
    throw new CiphertextError('malformed encrypted value');
  return { keyVersion: Number(version), iv: ivBytes, body: bodyBytes };
}

export function open(key: Buffer, context: ValueContext, value: string): string {
  checkKey(key);
  const { keyVersion, iv, body } = parseSealed(value);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(context, keyVersion));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    // Wrong key, wrong tenant or field, or tampered bytes: GCM cannot tell which, and neither do we.
    throw new CiphertextError('encrypted value does not authenticate');
  }
}

/** The normalised form an e-mail address is indexed under (the same the accounts subgraph stores). */
export function normaliseEmailForIndex(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The keyed blind index of an e-mail address: HMAC-SHA-256 under the tenant's index key, base64url. Equal
 * addresses of one tenant give equal indexes (lookups, the unique index); without the key it says nothing, and two
 * tenants' indexes of one address differ.
 */
export function blindIndex(indexKey: Buffer, email: string): string {
  checkKey(indexKey);
  return createHmac('sha256', indexKey).update(normaliseEmailForIndex(email), 'utf8').digest('base64url');
}
