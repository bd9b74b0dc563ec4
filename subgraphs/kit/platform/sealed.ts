/**
 * Sealed fields in a tenant's portable form (export, import, their checksums). An export hands a tenant its data, so
 * it carries personal fields opened (issue 18: "decrypted"); and a ciphertext is bound to its tenant (associated
 * data), so a re-import into another tenant must seal them again under that tenant's key, with its blind index —
 * which is derived, so it is left out of the portable form and rebuilt on import. The checksums are taken on the
 * portable form: a tenant and its re-import agree whatever their keys.
 */
import type { EncryptedCollection } from '../encryption/reencrypt';
import type { FieldCipher } from '../encryption/field-cipher';
import { isSealed } from '../encryption/format';

/** Turns a stored document into its portable form and back, for one collection of one tenant. */
export interface SealedFields {
  open(doc: Record<string, unknown>): Promise<Record<string, unknown>>;
  seal(doc: Record<string, unknown>): Promise<Record<string, unknown>>;
}

const AS_STORED: SealedFields = {
  open: async (doc) => doc,
  seal: async (doc) => doc,
};

export function sealedFields(
  cipher: FieldCipher,
  encrypted: readonly EncryptedCollection[] | undefined,
  collection: string,
  tenantId: string,
): SealedFields {
  const spec = encrypted?.find((candidate) => candidate.collection === collection);
  if (!spec || !cipher.enabled) return AS_STORED;
  const fieldName = (field: string) => `${spec.collection}.${field}`;
  return {
    async open(doc) {
      // Most documents of a large export are read here: copy only when there is something to change.
      const sealedField = spec.fields.some((field) => isSealed(doc[field]));
      if (!sealedField && !(spec.emailIndex && spec.emailIndex.to in doc)) return doc;
      const out: Record<string, unknown> = { ...doc };
      if (spec.emailIndex) delete out[spec.emailIndex.to];
      for (const field of spec.fields) {
        const value = out[field];
        if (typeof value === 'string') out[field] = await cipher.open(tenantId, fieldName(field), value);
      }
      return out;
    },
    async seal(doc) {
      const out: Record<string, unknown> = { ...doc };
      if (spec.emailIndex) {
        const source = out[spec.emailIndex.from];
        if (typeof source === 'string') out[spec.emailIndex.to] = await cipher.emailIndex(tenantId, source);
      }
      for (const field of spec.fields) {
        const value = out[field];
        if (typeof value === 'string') out[field] = await cipher.seal(tenantId, fieldName(field), value);
      }
      return out;
    },
  };
}
