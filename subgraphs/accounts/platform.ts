/**
 * The accounts subgraph's part of the platform API: provisioning a new tenant's first admin (`tollgate tenant
 * create --admin-email … --admin-name …`). Idempotent: the user's id derives from tenant and address, so a re-run
 * finds the same user and changes nothing.
 */
import { Types } from 'mongoose';
import { isEmailAddress } from '../../common/email';
import { userIdFor } from '../../common/ids';
import { isDuplicateKeyError } from '../kit/errors';
import { PlatformInputError, type PlatformHooks, type PlatformServices } from '../kit/platform/api';
import { currentTenant } from '../kit/scope';
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, type AccountsModels } from './models';

export interface ProvisionedAdmin {
  userId: string;
  email: string;
  /** False when the admin already existed (a re-run). */
  created: boolean;
}

async function provisionAdmin(
  models: AccountsModels,
  input: unknown,
  { cipher }: PlatformServices,
): Promise<ProvisionedAdmin> {
  const { email: rawEmail, name: rawName } = (typeof input === 'object' && input !== null ? input : {}) as {
    email?: unknown;
    name?: unknown;
  };
  if (typeof rawEmail !== 'string' || typeof rawName !== 'string')
    throw new PlatformInputError('input must have an email and a name');
  const email = rawEmail.trim().toLowerCase();
  const name = rawName.trim();
  if (email.length > MAX_EMAIL_LENGTH || !isEmailAddress(email))
    throw new PlatformInputError('email is not a valid e-mail address');
  if (name.length === 0 || name.length > MAX_NAME_LENGTH)
    throw new PlatformInputError(`name must be 1–${MAX_NAME_LENGTH} characters`);
  const tenantId = currentTenant();
  const userId = userIdFor(tenantId, email);
  const existing = await models.User.findById(userId).lean();
  if (existing) return { userId, email, created: false };
  try {
    // Stored as inviteUser stores a user (resolvers.ts): sealed address and name, uniqueness on the blind index.
    const [emailIndex, sealedEmail, sealedName] = await Promise.all([
      cipher.emailIndex(tenantId, email),
      cipher.seal(tenantId, 'users.email', email),
      cipher.seal(tenantId, 'users.name', name),
    ]);
    await models.User.create({
      _id: new Types.ObjectId(userId),
      name: sealedName,
      email: sealedEmail,
      emailIndex,
      roles: ['admin'],
      invitedAt: new Date(),
    });
  } catch (error) {
    // Two runs at once: the other one created it.
    if (isDuplicateKeyError(error)) return { userId, email, created: false };
    throw error;
  }
  return { userId, email, created: true };
}

export const accountsPlatform: PlatformHooks<AccountsModels> = { provision: provisionAdmin };
