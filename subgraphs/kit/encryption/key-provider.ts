/**
 * Wrapping of tenant data keys by a key-encryption key. `KeyProvider` is the seam a cloud KMS (AWS KMS Encrypt /
 * Decrypt with an encryption context, GCP KMS with additional authenticated data) implements later: the platform
 * never needs the master key itself, only wrap and unwrap. `createMasterKeyProvider` is the local implementation,
 * AES-256-GCM under a 32-byte master key from configuration (common/master-key.ts).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface KeyProvider {
  /** Names the key-encryption key (stored beside each wrapped key, so a wrong master key is a clear error). */
  readonly id: string;
  /** Wraps `key`; `context` is bound as associated data and must be given again to unwrap. */
  wrap(key: Buffer, context: string): Promise<Buffer>;
  /** Unwraps; rejects when the wrapped bytes, the context or the key-encryption key do not match. */
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>;
}

export class KeyUnwrapError extends Error {
  constructor() {
    super('a tenant data key does not unwrap with the configured master key');
    this.name = 'KeyUnwrapError';
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

/** A KeyProvider over a local 32-byte master key. Wrapped form: iv (12) | tag (16) | ciphertext. */
export function createMasterKeyProvider(masterKey: Buffer): KeyProvider {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new Error('the encryption master key must be 32 bytes');
  // Copied: the caller's buffer may be reused or zeroed.
  const kek = Buffer.from(masterKey);
  // An id that names the key without revealing it: a hash under a fixed label, truncated.
  const id = `local:${createHash('sha256').update('tollgate-kek-id:').update(kek).digest('hex').slice(0, 16)}`;
  return {
    id,
    async wrap(key, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ct = Buffer.concat([cipher.update(key), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ct]);
    },
    async unwrap(wrapped, context) {
      if (wrapped.length <= IV_BYTES + TAG_BYTES) throw new KeyUnwrapError();
      const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch {
        throw new KeyUnwrapError();
      }
    },
  };
}
