import { rule } from 'graphql-shield';
import {
  federationQueryRules,
  isAdmin,
  isAdminOrStaff,
  isMember,
  serviceRules,
  type PermissionRules,
} from '../kit/permissions';
import { hasRole } from '../kit/scope';
import type { AccountsContext } from './context';
import type { UserRecord } from './models';

/** Depends on the user being resolved, so it is decided per item and never cached. */
const isSelfOrAdmin = rule('accounts:isSelfOrAdmin', { cache: 'no_cache' })(
  (user: UserRecord, _args, ctx: AccountsContext) =>
    ctx.scope !== null && (hasRole(ctx.scope, 'admin') || user._id.toHexString() === ctx.scope.principal),
);

export const permissions: PermissionRules = {
  Query: { me: isMember, user: isMember, users: isAdminOrStaff, ...federationQueryRules },
  Mutation: { inviteUser: isAdmin },
  User: { id: isMember, name: isMember, email: isSelfOrAdmin, roles: isMember, invitedAt: isMember },
  UserConnection: { edges: isMember, pageInfo: isMember },
  UserEdge: { cursor: isMember, node: isMember },
  PageInfo: { hasNextPage: isMember, endCursor: isMember },
  _Service: serviceRules,
};
