/**
 * Erased tenants, by pseudonym only: the control plane's `erased_tenants` collection, one document per tenant that
 * `tollgate tenant erase` erased (cli/lifecycle/erase.ts), keyed by `erasurePseudonym` — an HMAC of the tenant id
 * under a key derived from the internal secret — so that nothing stored names the tenant (issue 18, acceptance 2)
 * while `tenant create` can still refuse to hand an erased id out again: whoever holds the secret and an id can
 * check it; a reader of the collection learns nothing.
 *
 * The key is derived from the internal secret, so a tombstone matches only while the secret it was made under is
 * known: after a rotation the CLI also tries the previous secrets it is given (TOLLGATE_PREVIOUS_INTERNAL_SECRETS,
 * cli/lifecycle/pseudonym.ts). `keyId` names which key made a tombstone, so an operator can tell which secrets are
 * still needed.
 */
import { createHash, createHmac } from 'node:crypto';
import { Schema, trusted, type Connection, type Model } from 'mongoose';
import { isTenantId } from '../../../common/ids';
import { STRICT_SCHEMA_OPTIONS } from '../control-plane/registry-common';

export const ERASED_TENANTS_COLLECTION = 'erased_tenants';

/** `et_` and 64 hex digits: HMAC-SHA-256 of the tenant id. */
const PSEUDONYM = /^et_[0-9a-f]{64}$/;

/** The erasure key, derived so the internal secret itself never meets an HMAC input an operator typed. */
export function erasureKey(internalSecret: Buffer): Buffer {
  if (internalSecret.length < 32) throw new Error('the internal secret must be at least 32 bytes');
  return createHmac('sha256', internalSecret).update('tollgate erased tenant v1').digest();
}

/** Which erasure key made a pseudonym: the first 16 hex digits of its SHA-256 (never the key). */
export function erasureKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** The tenant's pseudonym under `key` (erasureKey): what the platform's audit chain and the tombstone name. */
export function erasurePseudonym(key: Buffer, tenantId: string): string {
  if (!isTenantId(tenantId)) throw new Error('invalid tenant id');
  return `et_${createHmac('sha256', key).update(tenantId).digest('hex')}`;
}

interface ErasedDoc {
  _id: string;
  keyId: string;
  /** When the erasure began (the first run); later runs leave it. */
  erasedAt: Date;
}

function erasedModel(connection: Connection): Model<ErasedDoc> {
  const schema = new Schema<ErasedDoc>(
    {
      _id: { type: String, required: true },
      keyId: { type: String, required: true },
      erasedAt: { type: Date, required: true },
    },
    { ...STRICT_SCHEMA_OPTIONS, collection: ERASED_TENANTS_COLLECTION },
  );
  return connection.model<ErasedDoc>('ErasedTenant', schema);
}

export class ErasedTenantRegistry {
  private readonly erased: Model<ErasedDoc>;

  constructor(connection: Connection) {
    this.erased = erasedModel(connection);
  }

  /** Records the tombstone (insert-if-absent: a re-run keeps the first time). */
  async record(pseudonym: string, keyId: string, at: Date): Promise<void> {
    if (!PSEUDONYM.test(pseudonym)) throw new Error('invalid erasure pseudonym');
    await this.erased.updateOne(
      { _id: pseudonym },
      { $setOnInsert: { keyId: String(keyId), erasedAt: at } },
      { upsert: true },
    );
  }

  /** Whether any of `pseudonyms` (one per erasure key still known) was erased. */
  async anyErased(pseudonyms: readonly string[]): Promise<boolean> {
    const ids = pseudonyms.filter((p) => PSEUDONYM.test(p));
    if (ids.length === 0) return false;
    return (await this.erased.countDocuments({ _id: trusted({ $in: ids }) }).exec()) > 0;
  }
}
