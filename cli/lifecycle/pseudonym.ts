/**
 * The erased tenant's pseudonym as the CLI computes it (gateway/src/tenants/erased.ts has the derivation): under the
 * key of the internal secret the CLI holds (TOLLGATE_INTERNAL_SECRET, or outside production the development one, as
 * the platform client resolves it), and for matching tombstones also under the keys of the previous secrets
 * (TOLLGATE_PREVIOUS_INTERNAL_SECRETS, comma-separated hex): a tombstone is found only under the secret it was made
 * with, so after the internal secret is rotated the old secret must be listed there for erased ids to stay refused.
 */
import { loadOrCreateInternalSecret } from '../../common/dev-secrets';
import { erasureKey, erasureKeyId, erasurePseudonym } from '../../gateway/src/tenants/erased';

const SECRET_HEX = /^(?:[0-9a-fA-F]{2}){32,}$/;

export interface ErasureKeys {
  /** The current key: what a new tombstone and the platform chain's erasure record are made with. */
  current: Buffer;
  keyId: string;
  /** Keys of previous internal secrets: only for finding older tombstones. */
  previous: Buffer[];
}

export function erasureKeysFromEnv(env: NodeJS.ProcessEnv): ErasureKeys {
  const secretHex = env.TOLLGATE_INTERNAL_SECRET?.trim();
  let secret: Buffer;
  if (secretHex) {
    if (!SECRET_HEX.test(secretHex)) throw new Error('TOLLGATE_INTERNAL_SECRET must be hex of at least 32 bytes');
    secret = Buffer.from(secretHex, 'hex');
  } else if (env.NODE_ENV === 'production') {
    // Fail closed: without the secret an erased id cannot be recognised, and would be handed out again.
    throw new Error('TOLLGATE_INTERNAL_SECRET is required when NODE_ENV=production');
  } else {
    secret = loadOrCreateInternalSecret();
  }
  const previous = (env.TOLLGATE_PREVIOUS_INTERNAL_SECRETS ?? '')
    .split(',')
    .map((hex) => hex.trim())
    .filter(Boolean)
    .map((hex) => {
      if (!SECRET_HEX.test(hex))
        throw new Error('TOLLGATE_PREVIOUS_INTERNAL_SECRETS must be comma-separated hex secrets of at least 32 bytes');
      return erasureKey(Buffer.from(hex, 'hex'));
    });
  const current = erasureKey(secret);
  return { current, keyId: erasureKeyId(current), previous };
}

/** The tenant's pseudonym under the current key. */
export const pseudonymOf = (keys: ErasureKeys, tenantId: string) => erasurePseudonym(keys.current, tenantId);

/** Its pseudonyms under every key still known: what a tombstone lookup tries. */
export const pseudonymsOf = (keys: ErasureKeys, tenantId: string) =>
  [keys.current, ...keys.previous].map((key) => erasurePseudonym(key, tenantId));
