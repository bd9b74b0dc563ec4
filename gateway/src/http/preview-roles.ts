/**
 * "View as": a developer's token may preview the graph as one of the personas it holds. The request header
 * `Tollgate-Preview-Roles: customer` (a comma-separated list of roles) makes the request run — introspection,
 * authorization, /schema.graphql, the explorer's estimate and plan — with exactly those roles.
 *
 * The rule, deliberately narrow (security is the product):
 * - only a JWT whose roles include `developer` may send the header; anyone else is refused with 403 FORBIDDEN
 *   rather than having the header ignored, so a client never believes it previews when it does not;
 * - every role named must be a role of the platform (common/ids.ts `ROLES`, the role model every tenant shares)
 *   AND a role the token itself holds: the header only SELECTS among the token's roles, it never adds one. A
 *   developer who wants to look at the graph as a customer gets a token with `--roles developer,customer` from
 *   whoever issues their tenant's tokens; the gateway never grants a role the issuer did not sign;
 * - the result is a narrower caller (`roles` = the selection), the token's own roles kept in `tokenRoles` for the
 *   one decision that belongs to the person and not the persona: whether they may introspect at all.
 * An API key has no roles and cannot preview. Nothing else about the caller changes (tenant, principal, budget).
 */
import { ROLES, isRole, type Role } from '../../../common/ids';
import { ErrorCode, gatewayError } from '../errors';
import type { Caller } from '../request';

export const PREVIEW_ROLES_HEADER = 'tollgate-preview-roles';
export const DEVELOPER_ROLE: Role = 'developer';
/** Four roles with separators fit in far less; a longer header is refused before it is split. */
const MAX_HEADER_LENGTH = 200;

/** The caller the request runs as: `caller` itself without the header, else the selected persona (or a refusal). */
export function previewCaller(caller: Caller, header: string | undefined): Caller {
  if (header === undefined) return caller;
  if (caller.credential !== 'jwt' || !caller.roles.includes(DEVELOPER_ROLE)) {
    throw gatewayError(
      ErrorCode.FORBIDDEN,
      `Tollgate-Preview-Roles is for tokens with the ${DEVELOPER_ROLE} role; this credential has none.`,
    );
  }
  if (header.length > MAX_HEADER_LENGTH) {
    throw gatewayError(ErrorCode.BAD_USER_INPUT, 'Tollgate-Preview-Roles is too long.');
  }
  const named = header
    .split(',')
    .map((role) => role.trim())
    .filter((role) => role !== '');
  if (named.length === 0) {
    throw gatewayError(ErrorCode.BAD_USER_INPUT, `Tollgate-Preview-Roles names no role; valid: ${ROLES.join(', ')}.`);
  }
  const unknown = named.filter((role) => !isRole(role));
  if (unknown.length > 0) {
    // The caller's input is quoted only after it is known to be short and comma-free.
    throw gatewayError(
      ErrorCode.BAD_USER_INPUT,
      `Tollgate-Preview-Roles names an unknown role (${unknown.map((r) => JSON.stringify(r)).join(', ')}); valid: ${ROLES.join(', ')}.`,
    );
  }
  const roles = [...new Set(named as Role[])];
  const notHeld = roles.filter((role) => !caller.roles.includes(role));
  if (notHeld.length > 0) {
    throw gatewayError(
      ErrorCode.FORBIDDEN,
      `Tollgate-Preview-Roles may only select roles your token holds (${caller.roles.join(', ')}); ` +
        `it does not hold ${notHeld.join(', ')}. Ask for a token with --roles ${[...caller.roles, ...notHeld].join(',')}.`,
    );
  }
  return { ...caller, roles, tokenRoles: caller.roles };
}

/** The person behind the request, whatever persona it previews: for decisions about the person (introspection). */
export function tokenCaller(caller: Caller): Caller {
  return caller.tokenRoles ? { ...caller, roles: caller.tokenRoles } : caller;
}
