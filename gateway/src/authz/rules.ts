/**
 * Who may select what, gateway side. Decided before planning by `AuthorizationGate` (gate.ts), so every rule here
 * decides from the caller and the field's arguments alone: there is no parent object before execution. What depends
 * on the object — a review's author, a user's own e-mail address — is checked again by the subgraph that loads it.
 *
 * Deny by default: the gate's fallback rule is `deny`, and root and entity types list every field rather than use a
 * type-wide `'*'`, so a field added to the supergraph without a rule here is denied and rules.test.ts fails. Only
 * the structural types (connections, edges, PageInfo) are allowed type-wide: they are reachable only through a field
 * that has a rule of its own.
 *
 * Partners authenticate with API keys (`credential: 'apiKey'`) and act through scopes, never roles' implied rights:
 * a scope grants exactly what it names, so an integration that reads the catalog sees no inventory or reviews
 * unless it holds those scopes too.
 */
import { allow, and, chain, not, or, race, rule } from 'graphql-shield';
import type { Role } from '../../../common/ids';
import type { ApiKeyScope } from '../credentials/api-keys';
import type { Caller } from '../request';
import type { AuthzContext, RuleTree, ShieldRule } from './gate';
import { parseAuditArgs } from '../audit/graphql';
import { parseMonth } from '../metering/buckets';
import { email, integer, InvalidInputError, text, validInput } from './input-rules';

/** Partner scopes are defined where keys are issued; the rules only name them. */
type Scope = ApiKeyScope;

/**
 * The subgraphs' input contract for mutations (a review body 1–2000 characters), refused here before anything is
 * planned; the subgraphs still check it themselves. Page sizes (`first` 1–100) are not a rule: the limits stage
 * checks every slicing argument the schema's `@listSize` names, before this stage runs.
 */
export const MAX_REVIEW_LENGTH = 2_000;

/**
 * `Caller` gains `credential: 'apiKey'` and `scopes` with the partner-key issue; until then they are read without
 * trusting their type, and a JWT caller never has scopes.
 */
function scopesOf(caller: Caller): readonly unknown[] {
  const { credential, scopes } = caller as { credential?: unknown; scopes?: unknown };
  return credential === 'apiKey' && Array.isArray(scopes) ? scopes : [];
}

function isApiKeyCaller(caller: Caller): boolean {
  return (caller as { credential?: unknown }).credential === 'apiKey';
}

// Every rule depends on the caller only, so `contextual` caching (one decision per request) is right — and safe
// because the gate refuses two distinct rules with one name.
const roleRules = new Map<Role, ShieldRule>();
function hasRole(role: Role): ShieldRule {
  let found = roleRules.get(role);
  if (!found) {
    found = rule(`role:${role}`, { cache: 'contextual' })((_parent, _args, ctx: AuthzContext) =>
      ctx.caller.roles.includes(role),
    );
    roleRules.set(role, found);
  }
  return found;
}

const scopeRules = new Map<Scope, ShieldRule>();
function hasScope(scope: Scope): ShieldRule {
  let found = scopeRules.get(scope);
  if (!found) {
    found = rule(`scope:${scope}`, { cache: 'contextual' })((_parent, _args, ctx: AuthzContext) =>
      scopesOf(ctx.caller).includes(scope),
    );
    scopeRules.set(scope, found);
  }
  return found;
}

const isAdmin = hasRole('admin');
const isStaff = hasRole('staff');
const isCustomer = hasRole('customer');
const isDeveloper = hasRole('developer');

/** Holds at least one role in the tenant (a token with an empty role list reads nothing). */
const isMember = rule('isMember', { cache: 'contextual' })(
  (_parent, _args, ctx: AuthzContext) => ctx.caller.roles.length > 0,
);
const isPartner = rule('isPartner', { cache: 'contextual' })((_parent, _args, ctx: AuthzContext) =>
  isApiKeyCaller(ctx.caller),
);
/** A person of the tenant, as opposed to a partner's integration: only a person has a `me`. */
const isPerson = and(isMember, not(isPartner));

const isMerchant = or(isAdmin, isStaff);

/** `race` stops at the first rule that allows: members are the common case. */
const readsCatalog = race(isMember, hasScope('catalog:read'));
const readsInventory = race(isMember, hasScope('inventory:read'));
const readsReviews = race(isMember, hasScope('reviews:read'));
const readsUsers = race(isMerchant, hasScope('users:read'));
/** A user's id and name are public inside the tenant: they appear as review authors. */
const readsUserNames = race(isMember, hasScope('users:read'), hasScope('reviews:read'));
/**
 * E-mail addresses and roles are personal data, never for partners. Whose address a person may see (their own,
 * or anyone's for an admin) depends on the user object, so the accounts subgraph decides it per user (null with
 * FORBIDDEN). The gateway cannot narrow it by path either: `me` does not mean "own" (`me → reviews → product →
 * reviews → author` reaches other users). So the gateway refuses the callers who can never see one: partners and
 * role-less tokens.
 */
const readsPersonalData = isPerson;

/**
 * Input checks are plain rules over linear-time validators (input-rules.ts), not shield's yup-based `inputRule`:
 * yup's e-mail pattern backtracks exponentially before its length limit applies.
 */
const validReview = validInput('validReview', 'input', {
  rating: integer({ min: 1, max: 5 }),
  body: text({ min: 1, max: MAX_REVIEW_LENGTH, trim: true }),
});
const validInvitation = validInput('validInvitation', 'input', {
  name: text({ min: 1, max: 200, trim: true }),
  email: email(),
});

/** `usage(month:)` takes a month as `YYYY-MM`; anything else is refused before it runs, at no cost. */
const validUsageMonth = rule('validUsageMonth', { cache: 'no_cache' })((_parent, args: Record<string, unknown>) =>
  typeof args.month === 'string' && parseMonth(args.month)
    ? true
    : new InvalidInputError('month must be a month written YYYY-MM'),
);

/** `auditEvents`' arguments (audit/graphql.ts): a bad page size, cursor, type or date is refused at no cost. */
const validAuditArgs = rule('validAuditArgs', { cache: 'no_cache' })((_parent, args: Record<string, unknown>) => {
  const parsed = parseAuditArgs(args);
  return parsed.ok ? true : new InvalidInputError(parsed.problem);
});

const structural = allow;

export const ruleTree: RuleTree = {
  Query: {
    me: isPerson,
    user: readsUsers,
    users: readsUsers,
    product: readsCatalog,
    products: readsCatalog,
    // The platform graph (platform-graph/): a tenant's own usage is for its admins — people, never API keys.
    usage: chain(isAdmin, validUsageMonth),
    // The tenant's own audit trail: its admins only (people, never API keys); arguments checked before it runs.
    auditEvents: chain(isAdmin, validAuditArgs),
  },
  Mutation: {
    inviteUser: chain(isAdmin, validInvitation),
    createProduct: race(isMerchant, hasScope('catalog:write')),
    updateProduct: race(isMerchant, hasScope('catalog:write')),
    adjustStock: race(isMerchant, hasScope('inventory:write')),
    // Developers hold an API-explorer role, not a shopper's: a developer-only caller cannot post reviews.
    addReview: chain(race(isAdmin, isStaff, isCustomer, hasScope('reviews:write')), validReview),
    // Only the author or an admin may delete; the reviews subgraph checks authorship against the stored review.
    deleteReview: or(isAdmin, isStaff, isCustomer),
  },
  User: {
    id: readsUserNames,
    name: readsUserNames,
    email: readsPersonalData,
    roles: readsPersonalData,
    reviews: readsReviews,
  },
  Product: {
    id: readsCatalog,
    sku: readsCatalog,
    name: readsCatalog,
    price: readsCatalog,
    weight: readsCatalog,
    inStock: readsInventory,
    quantity: readsInventory,
    shippingEstimate: readsInventory,
    reviews: readsReviews,
  },
  Review: {
    id: readsReviews,
    body: readsReviews,
    rating: readsReviews,
    author: readsReviews,
    product: readsReviews,
  },
  ProductConnection: structural,
  ProductEdge: structural,
  ReviewConnection: structural,
  ReviewEdge: structural,
  UserConnection: structural,
  UserEdge: structural,
  PageInfo: structural,
  Usage: structural,
  CredentialUsage: structural,
  RefusalCount: structural,
  AuditEvent: structural,
  AuditActor: structural,
  AuditEventPage: structural,
};

/**
 * `__schema` and `__type`: the schema explorer is for developers (its own issue may widen this); `__typename` is
 * allowed everywhere by the gate.
 */
export const introspectionRule: ShieldRule = isDeveloper;
