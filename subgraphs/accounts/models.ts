/** The accounts subgraph's data: users, one document per tenant and e-mail address. */
import { Schema, type Connection, type Types } from 'mongoose';
import { tenantPlugin } from '../kit/tenant-plugin';

/** Roles as stored; the schema exposes them as the enum ADMIN, STAFF, CUSTOMER. */
export const USER_ROLES = ['admin', 'staff', 'customer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface UserRecord {
  /** userIdFor(tenantId, email): development tokens name a seeded user without a database lookup. */
  _id: Types.ObjectId;
  tenantId: string;
  /** Sealed (kit/encryption/format.ts) when encryption is on: open it with the field cipher as `users.name`. */
  name: string;
  /** Sealed as `users.email`; the normalised address before sealing. */
  email: string;
  /** Keyed blind index of the address (HMAC under the tenant's index key): lookups and uniqueness. */
  emailIndex: string;
  roles: UserRole[];
  invitedAt: Date;
}

export const MAX_NAME_LENGTH = 200;
export const MAX_EMAIL_LENGTH = 254;

/** What `tollgate migrate` and key rotation re-encrypt here (kit/encryption/reencrypt.ts). */
export const ACCOUNTS_ENCRYPTED = [
  { collection: 'users', fields: ['email', 'name'], emailIndex: { from: 'email', to: 'emailIndex' } },
] as const;

export function createAccountsModels(connection: Connection) {
  const userSchema = new Schema<UserRecord>(
    {
      _id: { type: Schema.Types.ObjectId, required: true },
      // Lengths are checked on the clear values by the resolvers; these hold ciphertext.
      name: { type: String, required: true },
      email: { type: String, required: true },
      emailIndex: { type: String, required: true },
      roles: { type: [{ type: String, enum: USER_ROLES }], required: true },
      invitedAt: { type: Date, required: true },
    },
    { collection: 'users', versionKey: false },
  );
  userSchema.plugin(tenantPlugin);
  // Uniqueness per tenant on the blind index: ciphertexts of one address differ (random IVs), their index does not.
  userSchema.index({ tenantId: 1, emailIndex: 1 }, { unique: true });
  return { User: connection.model<UserRecord>('User', userSchema) };
}

export type AccountsModels = ReturnType<typeof createAccountsModels>;
