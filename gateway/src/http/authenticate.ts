/**
 * Stage 1: who is calling, for which tenant. Every request is authenticated before anything else touches it; an
 * unauthenticated request never reaches parsing, planning or a subgraph.
 *
 * Two credentials: a JWT (frontends and developers) from a trusted issuer (credentials/issuers.ts), or a partner's
 * API key (credentials/api-keys.ts) as `X-Api-Key` or `Authorization: ApiKey …`. Every credential failure answers
 * the same UNAUTHENTICATED body so a client cannot probe which check it failed; the reason goes to the log line
 * only. The tenant comes from the verified credential alone, and is looked up in the directory on every request —
 * also for a token answered from the verified-token cache — so a suspension applies at once.
 */
import type { GraphQLError } from 'graphql';
import type { JWTPayload } from 'jose';
import { isRole, isTenantId, type Role } from '../../../common/ids';
import type { ApiKeyVerification } from '../credentials/api-key-verifier';
import { apiKeyEndsAt, parseApiKey } from '../credentials/api-keys';
import { TokenRefusedError, mayActFor, type TrustedIssuers } from '../credentials/issuers';
import { ErrorCode, RefusalReason, gatewayError } from '../errors';
import { UnknownTenantError, type TenantDirectory } from '../tenants/directory';
import type { TenantRecord } from '../tenants/tenant';
import type { Caller } from '../request';

const MAX_PRINCIPAL_LENGTH = 128;
/** A JWT is three base64url segments; anything else is refused before jose is asked. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Generous for real tokens, small enough that a header of garbage costs nothing. */
const MAX_TOKEN_LENGTH = 8_192;
const CONTROL_CHARACTERS = /\p{Cc}/u;

export interface AuthenticateOptions {
  issuers: Pick<TrustedIssuers, 'verify'>;
  apiKeys: {
    verify(presented: string): Promise<ApiKeyVerification>;
    /** The verdict from memory alone, `undefined` when it would take a read (credentials/api-key-verifier.ts). */
    verifyFromMemory?(presented: string): ApiKeyVerification | undefined;
  };
  /** `peek` lets a held-back client's request (`fromMemoryOnly`) be refused before a tenant it names is read. */
  directory: Pick<TenantDirectory, 'tenantFor'> & Partial<Pick<TenantDirectory, 'peek'>>;
  /** Verified tokens kept, least recently used dropped first. */
  cacheMaxEntries?: number;
  /** How long a verified token is trusted without re-verifying, capped by its own `exp`. */
  cacheTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** What a request presented, as the HTTP layer read it from the headers. */
export interface PresentedCredentials {
  authorization?: string;
  /** The `X-Api-Key` header. */
  apiKey?: string;
}

export interface Authenticated {
  caller: Caller;
  /** The caller's tenant as the directory has it now: active. */
  tenant: TenantRecord;
}

export type AuthFailureReason =
  | 'missing-credentials'
  | 'malformed-authorization'
  | 'ambiguous-credentials'
  | 'credentials-in-url'
  | `jwt:${string}`
  | `api-key:${string}`
  | 'bad-tenant-claim'
  | 'tenant-not-allowed-for-issuer'
  | 'bad-subject-claim'
  | 'bad-roles-claim';

/** Carries the reason for the log; the client only ever sees `unauthenticated()`. */
export class AuthenticationError extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    /** The id of a well-formed API key whose secret was wrong: what the per-key failure limit counts. */
    readonly apiKeyId?: string,
    /** A genuine key refused for its state (revoked, expired, rotated out): its tenant, for the audit trail. */
    readonly keyOf?: { id: string; tenantId: string },
  ) {
    super(`authentication failed: ${reason}`);
    this.name = 'AuthenticationError';
  }
}

/** Asked to authenticate from memory only, and the credential would need work (a signature check, a read). */
export class NotVerifiedFromMemoryError extends Error {
  constructor() {
    super('the credential cannot be verified from memory');
    this.name = 'NotVerifiedFromMemoryError';
  }
}

export interface AuthenticateRequestOptions {
  /**
   * Accept only what memory can vouch for (a cached verified token, a cached API key record), else throw
   * `NotVerifiedFromMemoryError`: for a client held back by the failed-authentication limiter (http.ts).
   */
  fromMemoryOnly?: boolean;
}

const TENANT_REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  TENANT_SUSPENDED: 'This tenant is suspended.',
  TENANT_UNKNOWN: 'This tenant is not available.',
  TENANT_MISMATCH: 'The tenant header does not match the credentials.',
  ORIGIN_NOT_ALLOWED: 'This origin may not call the gateway for this tenant.',
};

/** The credential is good but the tenant may not be used this way: FORBIDDEN, with the reason for the client. */
export class TenantAccessError extends Error {
  constructor(
    readonly refusal: RefusalReason,
    /** Who was refused, for the log line. */
    readonly caller: Caller,
  ) {
    super(`tenant access refused: ${refusal}`);
    this.name = 'TenantAccessError';
  }

  toClientError(): GraphQLError {
    return gatewayError(ErrorCode.FORBIDDEN, TENANT_REFUSAL_MESSAGES[this.refusal], {
      extensions: { reason: this.refusal },
    });
  }
}

export const UNAUTHENTICATED_MESSAGE = 'Missing or invalid credentials';

export function unauthenticated(): GraphQLError {
  return gatewayError(ErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE, {
    headers: { 'www-authenticate': 'Bearer' },
  });
}

/**
 * Resolves the caller and its (active) tenant, or throws `AuthenticationError` (401), `TenantAccessError` (403),
 * or `ControlPlaneUnavailableError` / `KeySetUnavailableError` (503: the credential could not be checked).
 */
export type Authenticator = (
  presented: PresentedCredentials,
  options?: AuthenticateRequestOptions,
) => Promise<Authenticated>;

/** Builds the stage once per gateway: the verified-token cache lives as long as it does. */
export function createAuthenticator(options: AuthenticateOptions): Authenticator {
  const now = options.now ?? Date.now;
  const cache = new VerifiedTokenCache(options.cacheMaxEntries ?? 10_000, options.cacheTtlMs ?? 60_000);

  const verifyToken = async (token: string): Promise<Caller> => {
    let verified: Awaited<ReturnType<TrustedIssuers['verify']>>;
    try {
      verified = await options.issuers.verify(token, now());
    } catch (error) {
      if (error instanceof TokenRefusedError) throw new AuthenticationError(`jwt:${error.reason}`);
      throw error;
    }
    const caller = callerFromClaims(verified.payload);
    if (!mayActFor(verified.issuer, caller.tenantId)) throw new AuthenticationError('tenant-not-allowed-for-issuer');
    cache.set(token, caller, now());
    return caller;
  };

  const fromApiKey = async (key: string, fromMemoryOnly: boolean): Promise<Caller> => {
    const verification = fromMemoryOnly ? options.apiKeys.verifyFromMemory?.(key) : await options.apiKeys.verify(key);
    if (!verification) throw new NotVerifiedFromMemoryError();
    if (!verification.ok) {
      throw new AuthenticationError(
        `api-key:${verification.reason}`,
        verification.reason === 'bad-secret' ? parseApiKey(key)?.keyId : undefined,
        verification.key,
      );
    }
    const { key: record } = verification;
    return {
      tenantId: record.tenantId,
      principal: `key:${record.id}`,
      roles: [],
      credential: 'apiKey',
      tokenExpiresAt: apiKeyEndsAt(record),
      scopes: record.scopes,
      apiKeyId: record.id,
      clientName: record.clientName,
      manifest: record.manifest,
    };
  };

  const fromToken = (token: string, fromMemoryOnly: boolean): Caller | Promise<Caller> => {
    const cached = cache.get(token, now());
    if (cached) return cached;
    if (fromMemoryOnly) throw new NotVerifiedFromMemoryError();
    return verifyToken(token);
  };

  return async (presented, requestOptions) => {
    const fromMemoryOnly = requestOptions?.fromMemoryOnly === true;
    const credential = presentedCredential(presented);
    // A repeated token is the common case: answered from the cache without a promise of its own.
    const caller =
      credential.kind === 'apiKey'
        ? await fromApiKey(credential.value, fromMemoryOnly)
        : await fromToken(credential.value, fromMemoryOnly);
    // A tenant nobody asked about yet (one that does not exist, say) would be read: not for a held-back client.
    if (fromMemoryOnly && !options.directory.peek?.(caller.tenantId)) throw new NotVerifiedFromMemoryError();
    let tenant: TenantRecord;
    try {
      tenant = await options.directory.tenantFor(caller.tenantId);
    } catch (error) {
      if (error instanceof UnknownTenantError) throw new TenantAccessError(RefusalReason.TENANT_UNKNOWN, caller);
      throw error;
    }
    if (tenant.status !== 'active') throw new TenantAccessError(RefusalReason.TENANT_SUSPENDED, caller);
    return { caller, tenant };
  };
}

/** Exactly one credential, in one of the accepted places and shapes. */
function presentedCredential(presented: PresentedCredentials): { kind: 'jwt' | 'apiKey'; value: string } {
  const { authorization, apiKey } = presented;
  if (authorization && apiKey) throw new AuthenticationError('ambiguous-credentials');
  if (apiKey) return { kind: 'apiKey', value: apiKey };
  if (!authorization) throw new AuthenticationError('missing-credentials');
  const match = /^(Bearer|ApiKey) +(\S+) *$/i.exec(authorization);
  const scheme = match?.[1]?.toLowerCase();
  const value = match?.[2];
  if (!value) throw new AuthenticationError('malformed-authorization');
  if (scheme === 'apikey') return { kind: 'apiKey', value };
  if (value.length > MAX_TOKEN_LENGTH || !COMPACT_JWT.test(value))
    throw new AuthenticationError('malformed-authorization');
  return { kind: 'jwt', value };
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
