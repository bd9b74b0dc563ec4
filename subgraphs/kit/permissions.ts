/**
 * Field authorization inside the subgraphs with graphql-shield: defence in depth behind the gateway's own gate.
 *
 * Traps of graphql-shield 7.6.5 this module is shaped around (read in node_modules/graphql-shield/cjs):
 * - `fallbackRule` defaults to `allow`: it is `deny` here, and `protectSchema` refuses to start when an object
 *   field has no explicit rule, so a new field is a startup error rather than a silent deny or allow.
 * - The `contextual` cache is keyed by the rule's name alone: every rule here has a distinct fixed name, and rules
 *   that depend on the parent object use `no_cache` so each list item gets its own decision.
 * - A rule that throws evaluates to `false` (rules.js `Rule.resolve`), so `not(rule)` of a throwing rule would
 *   allow: `not` is not used.
 * - `allowExternalErrors: false` does not concern rules (their errors are swallowed as above); it makes shield
 *   replace any error the wrapped RESOLVER throws with `fallbackError` (generator.js). That would turn every
 *   NOT_FOUND and BAD_USER_INPUT into FORBIDDEN, so it is `true`; the server's `formatError` masks whatever is not a
 *   client error.
 * - `__resolveReference` is not a field and is never wrapped: entity types carry their rules on their fields.
 */
import type { GraphQLSchema } from 'graphql';
import { isIntrospectionType, isObjectType } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, and, deny, rule, shield, type IRules } from 'graphql-shield';
import '../../common/shield-node-compat';
import { forbidden, unauthenticated } from './errors';
import { hasRole, type RequestScope } from './scope';

/** A rule or a combination of rules (the package's index does not export this type). */
export type ShieldRule = Parameters<typeof and>[number];
/** Rules of one type, by field name; `'*'` covers the type's remaining fields. */
export type FieldRules = Record<string, ShieldRule>;
/** Rules of a whole schema, by type name. */
export type PermissionRules = Record<string, FieldRules>;

/** The part of a subgraph's context the rules read. */
export interface RuleContext {
  readonly scope: RequestScope | null;
}

/**
 * The caller of a resolver the rules only let run for operation tokens. Throws rather than returning null so a rule
 * tree mistake surfaces as a refusal, never as a resolver running without a tenant.
 */
export function callerOf(ctx: RuleContext): RequestScope {
  if (!ctx.scope) throw unauthenticated();
  return ctx.scope;
}

/** A caller of some tenant (any operation token), as opposed to the gateway's own `svc` requests. */
export const isMember = rule('tollgate:isMember', { cache: 'contextual' })(
  (_parent, _args, ctx: RuleContext) => ctx.scope !== null,
);

export const isAdmin = rule('tollgate:isAdmin', { cache: 'contextual' })((_parent, _args, ctx: RuleContext) =>
  hasRole(ctx.scope, 'admin'),
);

export const isAdminOrStaff = rule('tollgate:isAdminOrStaff', { cache: 'contextual' })(
  (_parent, _args, ctx: RuleContext) => hasRole(ctx.scope, 'admin', 'staff'),
);

/**
 * The federation plumbing: `_entities` and `_service` are only reachable with a token the middleware verified, and
 * the fields of the entities `_entities` returns carry their own rules.
 */
export const federationQueryRules: FieldRules = { _entities: isMember, _service: allow };
export const serviceRules: FieldRules = { sdl: allow };

export { allow };

/** Throws when an object type's field has no rule of its own and no `'*'` rule for its type. */
export function assertEveryFieldRuled(schema: GraphQLSchema, rules: PermissionRules): void {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    const typeRules = rules[type.name];
    for (const field of Object.keys(type.getFields())) {
      if (!typeRules || (!(field in typeRules) && !('*' in typeRules))) missing.push(`${type.name}.${field}`);
    }
  }
  if (missing.length > 0) throw new Error(`no permission rule for ${missing.join(', ')}`);
}

/** Wraps every field resolver of `schema` with the rules; fields without a rule are denied. */
export function protectSchema(schema: GraphQLSchema, rules: PermissionRules): GraphQLSchema {
  assertEveryFieldRuled(schema, rules);
  const permissions = shield(rules as IRules, {
    fallbackRule: deny,
    allowExternalErrors: true,
    debug: false,
    // A fresh error per denial, so each carries its own path.
    fallbackError: () => forbidden(),
  });
  return applyMiddleware(schema, permissions);
}
