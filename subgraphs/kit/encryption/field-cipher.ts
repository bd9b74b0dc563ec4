/**
 * What resolvers, migrations and rotations use to seal and open field values of one tenant: the format
 * (format.ts) over the tenant's keys (key-store.ts). `off` keeps values in clear (the bench's comparison, and
 * deployments that have not turned encryption on); its blind index is the normalised address itself.
 *
 * Values are opened lazily, by the field resolver that returns them: a query that does not select `body` never
 * decrypts one, and loaders keep reading lean records.
 */
import { blindIndex, isSealed, keyVersionOf, normaliseEmailForIndex, open, seal, CiphertextError } from './format';
import type { TenantKeyStore } from './key-store';

export interface FieldCipher {
  readonly enabled: boolean;
  /** Seals `plaintext` for `field` (e.g. `users.email`) of `tenantId` with its current key (created if needed). */
  seal(tenantId: string, field: string, plaintext: string): Promise<string>;
  /**
   * Opens a stored value. A clear value (written before `tollgate migrate` encrypted the collection) is returned
   * as it is; a sealed one whose key is gone (destroyed, retired) throws CiphertextError.
   */
  open(tenantId: string, field: string, stored: string): Promise<string>;
  /** The value of the unique `emailIndex`: the keyed blind index (on), the normalised address (off). */
  emailIndex(tenantId: string, email: string): Promise<string>;
  /** Whether `stored` is sealed with the tenant's current key version (a rotation skips those). */
  isCurrent(tenantId: string, stored: string): Promise<boolean>;
}

export function createFieldCipher(keyStore: TenantKeyStore): FieldCipher {
  return {
    enabled: true,
    async seal(tenantId, field, plaintext) {
      const keys = await keyStore.keysFor(tenantId, { create: true });
      const key = keys?.dataKeys.get(keys.current);
      if (!keys || !key) throw new CiphertextError('no current data key');
      return seal(key, keys.current, { tenantId, field }, plaintext);
    },
    async open(tenantId, field, stored) {
      if (!isSealed(stored)) return stored;
      const version = keyVersionOf(stored);
      const key = version === undefined ? undefined : await keyStore.dataKey(tenantId, version);
      if (!key) throw new CiphertextError('the data key of this value does not exist');
      return open(key, { tenantId, field }, stored);
    },
    async emailIndex(tenantId, email) {
      const keys = await keyStore.keysFor(tenantId, { create: true });
      if (!keys) throw new CiphertextError('no index key');
      return blindIndex(keys.indexKey, email);
    },
    async isCurrent(tenantId, stored) {
      if (!isSealed(stored)) return false;
      const keys = await keyStore.keysFor(tenantId);
      return keys !== undefined && keyVersionOf(stored) === keys.current;
    },
  };
}

/** Encryption off: values stay in clear; a sealed value found anyway cannot be read and says so. */
export const CLEAR_FIELDS: FieldCipher = Object.freeze({
  enabled: false,
  seal: async (_tenantId: string, _field: string, plaintext: string) => plaintext,
  async open(_tenantId: string, _field: string, stored: string) {
    if (isSealed(stored)) throw new CiphertextError('encrypted value found while encryption is off');
    return stored;
  },
  emailIndex: async (_tenantId: string, email: string) => normaliseEmailForIndex(email),
  isCurrent: async () => true,
});
