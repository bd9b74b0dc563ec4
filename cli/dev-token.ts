/**
 * Development JWTs, signed with the key pair generated under .data/secrets on first start. The gateway trusts
 * that key only outside production, and this refuses to mint when NODE_ENV=production.
 */
import { SignJWT, importJWK } from 'jose';
import { isRole, isTenantId, userIdFor, type Role } from '../common/ids';
import { DEV_JWT_ALG, DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, loadOrCreateDevJwtKeys } from '../common/dev-secrets';

export interface DevTokenRequest {
  tenant: string;
  email: string;
  roles: Role[];
  ttlSeconds: number;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,190}$/;

/** Parses and validates the CLI's words; throws with a message that names the bad one. */
export function parseDevTokenRequest(input: {
  tenant?: string;
  user?: string;
  roles?: string;
  ttl?: string;
}): DevTokenRequest {
  if (!isTenantId(input.tenant)) throw new Error('--tenant must be a tenant id such as "acme"');
  if (!input.user || !EMAIL.test(input.user))
    throw new Error('--user must be an e-mail address such as admin@acme.test');
  const roles = (input.roles ?? 'customer')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !isRole(r));
  if (roles.length === 0 || unknown.length > 0) {
    throw new Error(
      `--roles must be a comma-separated list of admin, staff, customer, developer${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`,
    );
  }
  const ttlSeconds = Number(input.ttl ?? 3600);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 86_400)
    throw new Error('--ttl must be seconds between 60 and 86400');
  return { tenant: input.tenant, email: input.user.toLowerCase(), roles: roles as Role[], ttlSeconds };
}

export async function mintDevToken(request: DevTokenRequest, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.NODE_ENV === 'production') throw new Error('development tokens are refused when NODE_ENV=production');
  const keys = await loadOrCreateDevJwtKeys();
  const key = await importJWK(keys.privateJwk, DEV_JWT_ALG);
  return (
    new SignJWT({ tenant: request.tenant, roles: request.roles, email: request.email })
      // An access token (RFC 9068): the gateway refuses other types, ID tokens included.
      .setProtectedHeader({ alg: DEV_JWT_ALG, kid: keys.kid, typ: 'at+jwt' })
      .setIssuer(DEV_JWT_ISSUER)
      .setAudience(DEV_JWT_AUDIENCE)
      .setSubject(userIdFor(request.tenant, request.email))
      .setIssuedAt()
      .setExpirationTime(`${request.ttlSeconds}s`)
      .sign(key)
  );
}
