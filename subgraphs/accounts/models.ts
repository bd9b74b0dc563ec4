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
  name: string;
  email: string;
  roles: UserRole[];
  invitedAt: Date;
}

export const MAX_NAME_LENGTH = 200;
export const MAX_EMAIL_LENGTH = 254;

export function createAccountsModels(connection: Connection) {
  const userSchema = new Schema<UserRecord>(
    {
      _id: { type: Schema.Types.ObjectId, required: true },
      name: { type: String, required: true, maxlength: MAX_NAME_LENGTH },
      email: { type: String, required: true, maxlength: MAX_EMAIL_LENGTH },
      roles: { type: [{ type: String, enum: USER_ROLES }], required: true },
      invitedAt: { type: Date, required: true },
    },
    { collection: 'users', versionKey: false },
  );
  userSchema.plugin(tenantPlugin);
  userSchema.index({ tenantId: 1, email: 1 }, { unique: true });
  return { User: connection.model<UserRecord>('User', userSchema) };
}

export type AccountsModels = ReturnType<typeof createAccountsModels>;
