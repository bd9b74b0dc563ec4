import { Types } from 'mongoose';
import { isEmailAddress } from '../../common/email';
import { isObjectIdHex, userIdFor } from '../../common/ids';
import { badInput, notFound, withDuplicateKeyAs } from '../kit/errors';
import { assertListSize, paginate, parsePage } from '../kit/pagination';
import { callerOf } from '../kit/permissions';
import type { Resolvers, Role } from './generated/resolvers-types';
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, type UserRecord, type UserRole } from './models';

const ROLE_TO_GRAPHQL: Record<UserRole, Role> = { admin: 'ADMIN', staff: 'STAFF', customer: 'CUSTOMER' };
const ROLE_FROM_GRAPHQL: Record<Role, UserRole> = { ADMIN: 'admin', STAFF: 'staff', CUSTOMER: 'customer' };

function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  // The gateway's input rule applies the same check (common/email.ts): a scan, linear in the address's length.
  if (email.length > MAX_EMAIL_LENGTH || !isEmailAddress(email))
    throw badInput('"email" is not a valid e-mail address');
  return email;
}

export const resolvers: Resolvers = {
  Query: {
    me: (_parent, _args, ctx) => {
      // An API key's principal is not a user: it has no `me`.
      const { principal } = callerOf(ctx);
      return isObjectIdHex(principal) ? ctx.loaders.userById.load(principal) : null;
    },
    user: async (_parent, { id }, ctx) => {
      const user = isObjectIdHex(id) ? await ctx.loaders.userById.load(id) : null;
      if (!user) throw notFound('User');
      return user;
    },
    users: (_parent, args, ctx) => paginate(ctx.models.User, {}, parsePage(args)),
  },
  Mutation: {
    inviteUser: async (_parent, { input }, ctx) => {
      const { tenantId } = callerOf(ctx);
      const name = input.name.trim();
      if (name.length === 0 || name.length > MAX_NAME_LENGTH)
        throw badInput(`"name" must be 1–${MAX_NAME_LENGTH} characters`);
      const email = normaliseEmail(input.email);
      assertListSize(input.roles, 'roles');
      const roles = [...new Set(input.roles.map((role) => ROLE_FROM_GRAPHQL[role]))];
      if (roles.length === 0) throw badInput('"roles" must name at least one role');
      // The id derives from tenant and address, so a second invitation collides on `_id` as well as on the
      // `{tenantId, email}` index: either way it is the same refusal.
      // Uniqueness holds on the blind index; the address and the name are stored sealed.
      const [emailIndex, sealedEmail, sealedName] = await Promise.all([
        ctx.cipher.emailIndex(tenantId, email),
        ctx.cipher.seal(tenantId, 'users.email', email),
        ctx.cipher.seal(tenantId, 'users.name', name),
      ]);
      const user = await withDuplicateKeyAs('A user with this email already exists', () =>
        ctx.models.User.create({
          _id: new Types.ObjectId(userIdFor(tenantId, email)),
          name: sealedName,
          email: sealedEmail,
          emailIndex,
          roles,
          invitedAt: new Date(),
        }),
      );
      return user.toObject<UserRecord>();
    },
  },
  User: {
    __resolveReference: (reference, ctx) =>
      isObjectIdHex(reference.id) ? ctx.loaders.userById.load(reference.id) : null,
    id: (user) => user._id.toHexString(),
    // Opened only when selected; under the request's tenant, which the tenant plugin filtered the record on.
    name: (user, _args, ctx) => ctx.cipher.open(callerOf(ctx).tenantId, 'users.name', user.name),
    email: (user, _args, ctx) => ctx.cipher.open(callerOf(ctx).tenantId, 'users.email', user.email),
    roles: (user) => user.roles.map((role) => ROLE_TO_GRAPHQL[role]),
    invitedAt: (user) => user.invitedAt.toISOString(),
  },
};
