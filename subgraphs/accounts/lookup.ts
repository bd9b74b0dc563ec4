/** Finding a user by e-mail address through the keyed blind index: the stored address is sealed. */
import type { FieldCipher } from '../kit/encryption/field-cipher';
import type { AccountsModels, UserRecord } from './models';

/**
 * The user of `tenantId` with this address (normalised as stored), or null. Runs in the tenant's scope like every
 * query of the model (the tenant plugin adds the tenant to the filter).
 */
export async function findUserByEmail(
  models: AccountsModels,
  cipher: FieldCipher,
  tenantId: string,
  email: string,
): Promise<UserRecord | null> {
  const emailIndex = await cipher.emailIndex(tenantId, email);
  return models.User.findOne({ emailIndex }).lean<UserRecord>().exec();
}
