/**
 * Stage 1: who is calling. Every request is authenticated before anything else touches it; an unauthenticated
 * request never reaches parsing, planning or a subgraph.
 *
 * Foundation version: a JWT bearer token verified against a local JWKS. Every failure answers the same
 * UNAUTHENTICATED body so a client cannot probe which check it failed; the reason goes to the log line only.
 */
import type { GraphQLError } from 'graphql';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { isRole, isTenantId, type Role } from '../../../common/ids';
import { ErrorCode, gatewayError } from '../errors';
import type { Caller } from './index';

/**
 * Asymmetric algorithms only: an HS* allow-list would let anyone holding the public key (it is public) mint
 * tokens by using it as an HMAC secret, and `none` is no signature at all.
 */
export const ALLOWED_JWT_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
const CLOCK_TOLERANCE_SECONDS = 60;
const MAX_PRINCIPAL_LENGTH = 128;
/** A JWT is three base64url segments; anything else is refused before jose is asked. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Generous for real tokens, small enough that a header of garbage costs nothing. */
const MAX_TOKEN_LENGTH = 8_192;
const CONTROL_CHARACTERS = /\p{Cc}/u;

export interface AuthenticateOptions {
  jwks: JSONWebKeySet;
  issuer: string;
  audience: string;
  /** Verified tokens kept, least recently used dropped first. */
  cacheMaxEntries?: number;
  /** How long a verified token is trusted without re-verifying, capped by its own `exp`. */
  cacheTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export type AuthFailureReason =
  | 'missing-credentials'
  | 'malformed-authorization'
  | `jwt:${string}`
  | 'bad-tenant-claim'
  | 'bad-subject-claim'
  | 'bad-roles-claim';

/** Carries the reason for the log; the client only ever sees `toClientError()`. */
export class AuthenticationError extends Error {
  constructor(readonly reason: AuthFailureReason) {
    super(`authentication failed: ${reason}`);
    this.name = 'AuthenticationError';
  }
}

export const UNAUTHENTICATED_MESSAGE = 'Missing or invalid credentials';

export function unauthenticated(): GraphQLError {
  return gatewayError(ErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE, {
    headers: { 'www-authenticate': 'Bearer' },
  });
}

export type Authenticator = (authorization: string | undefined) => Promise<Caller>;

/** Builds the stage once per gateway: the key set and the verified-token cache live as long as it does. */
export function createAuthenticator(options: AuthenticateOptions): Authenticator {
  const keys = createLocalJWKSet(options.jwks);
  const now = options.now ?? Date.now;
  const cache = new VerifiedTokenCache(options.cacheMaxEntries ?? 10_000, options.cacheTtlMs ?? 60_000);

  return async (authorization) => {
    const token = bearerToken(authorization);
    const cached = cache.get(token, now());
    if (cached) return cached;

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...ALLOWED_JWT_ALGORITHMS],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw new AuthenticationError(`jwt:${joseReason(error)}`);
    }
    const caller = callerFromClaims(payload);
    cache.set(token, caller, now());
    return caller;
  };
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw new AuthenticationError('missing-credentials');
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  const token = match?.[1];
  if (!token || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWT.test(token)) {
    throw new AuthenticationError('malformed-authorization');
  }
  return token;
}

function joseReason(error: unknown): string {
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `${error.code}:${error.claim}`;
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'unexpected';
}

/** The claims a verified token must carry, checked as strictly as ids anywhere else in the platform. */
export function callerFromClaims(payload: JWTPayload): Caller {
  const { tenant, sub, roles, exp } = payload;
  if (!isTenantId(tenant)) throw new AuthenticationError('bad-tenant-claim');
  if (
    typeof sub !== 'string' ||
    sub.length === 0 ||
    sub.length > MAX_PRINCIPAL_LENGTH ||
    CONTROL_CHARACTERS.test(sub)
  ) {
    throw new AuthenticationError('bad-subject-claim');
  }
  // An unknown role is refused rather than dropped: it means the issuer and the gateway disagree about the
  // role model, and silently narrowing a caller's rights would hide that.
  if (!Array.isArray(roles) || !roles.every(isRole)) throw new AuthenticationError('bad-roles-claim');
  if (typeof exp !== 'number') throw new AuthenticationError('jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:exp');
  return {
    tenantId: tenant,
    principal: sub,
    roles: [...new Set<Role>(roles)],
    credential: 'jwt',
    tokenExpiresAt: exp * 1000,
  };
}

interface CacheEntry {
  caller: Caller;
  validUntil: number;
}

/**
 * Verifying a signature costs 100–200 µs; a client sends the same token with every request. Entries are keyed by
 * the whole token string (only ever inserted after verification) and never outlive the token's `exp`. A Map
 * iterates in insertion order, so re-inserting on a hit makes the first key the least recently used.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(token: string, now: number): Caller | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (entry.validUntil <= now) return undefined;
    this.entries.set(token, entry);
    return entry.caller;
  }

  set(token: string, caller: Caller, now: number): void {
    const validUntil = Math.min(caller.tokenExpiresAt, now + this.ttlMs);
    if (validUntil <= now) return;
    this.entries.delete(token);
    this.entries.set(token, { caller, validUntil });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}
