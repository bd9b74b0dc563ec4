/**
 * Who may sign the JWTs of frontends and developers. Several identity providers can be trusted at once — the
 * platform's own for every tenant, a tenant's own IdP for that tenant only — each with its audience and its keys
 * (a JWKS file, or a JWKS URL fetched and cached by jose: refetched when a token names an unknown `kid`, at most
 * once per cooldown, so a stream of made-up kids cannot turn the gateway into a load generator for the IdP).
 *
 * The list comes from a JSON file (TRUSTED_ISSUERS_FILE) validated as a whole at start:
 *
 *   { "issuers": [
 *       { "issuer": "https://id.example.com/", "audience": "tollgate", "tenants": "*",
 *         "jwksUrl": "https://id.example.com/.well-known/jwks.json" },
 *       { "issuer": "https://login.acme.example", "audience": "tollgate", "tenants": ["acme"],
 *         "jwksFile": "acme-jwks.json" } ] }
 *
 * (`jwksFile` is relative to the issuers file.) Outside production the development issuer (`npm run token`) is
 * trusted for every tenant as well.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { isTenantId } from '../../../common/ids';

/**
 * Asymmetric algorithms only: an HS* allow-list would let anyone holding the public key (it is public) mint
 * tokens by using it as an HMAC secret, and `none` is no signature at all.
 */
export const ALLOWED_JWT_ALGORITHMS: readonly string[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];
/** How far `exp`, `nbf` and `iat` may be off, for clocks that disagree. */
export const CLOCK_TOLERANCE_SECONDS = 60;
/**
 * Headers that tell a verifier where to fetch a key (`jku`, `x5u`) or carry one (`jwk`, `x5c`): honouring any of
 * them lets the token choose the key that verifies it. A token carrying one is refused outright.
 */
const KEY_CARRYING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const ISSUER_KEYS = new Set(['issuer', 'audience', 'tenants', 'jwksUrl', 'jwksFile', 'tokenTypes']);

/**
 * The `typ` header values an issuer's access tokens may carry, unless its declaration says otherwise: RFC 9068's
 * `at+jwt` (`application/at+jwt` compares equal, RFC 7515 §4.1.9). An ID token (`typ` `JWT`, or none) is not an
 * access token and is refused, even when its audience happens to match. Identity providers that do not type their
 * access tokens (many send `JWT`) are declared with `"tokenTypes": ["at+jwt", "JWT"]`; the audience is then what
 * keeps their ID tokens out.
 */
export const DEFAULT_TOKEN_TYPES: readonly string[] = ['at+jwt'];
/** What `typ` values look like (RFC 6838 media-type names, shortened): bounded, so checking one is cheap. */
const MAX_TOKEN_TYPE_LENGTH = 64;

/** `typ` compared as RFC 7515 says: case-insensitively, with an `application/` prefix left out. */
export function normaliseTokenType(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

export interface TrustedIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** The tenants this issuer may speak for; `'*'` for the platform's own identity provider. */
  readonly tenants: '*' | readonly string[];
  readonly keys: JWTVerifyGetKey;
  /** Accepted `typ` header values, normalised (normaliseTokenType); absent: DEFAULT_TOKEN_TYPES. */
  readonly tokenTypes?: readonly string[];
}

export function mayActFor(issuer: TrustedIssuer, tenantId: string): boolean {
  return issuer.tenants === '*' || issuer.tenants.includes(tenantId);
}

/** A trusted-issuers file that cannot be used; every problem at once, no key material in any message. */
export class TrustedIssuersError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid trusted issuers:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    this.name = 'TrustedIssuersError';
  }
}

/** The keys of a trusted issuer could not be fetched: the token may well be good, so this is not the caller's fault. */
export class KeySetUnavailableError extends Error {
  constructor(options: { cause: unknown }) {
    super("the issuer's key set could not be fetched", options);
    this.name = 'KeySetUnavailableError';
  }
}

/** Why a token was refused, for the log line. */
export class TokenRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`token refused: ${reason}`);
    this.name = 'TokenRefusedError';
  }
}

export interface IssuerDeclaration {
  issuer: string;
  audience: string;
  tenants: '*' | string[];
  jwks: { url: URL } | { file: string };
  /** Declared `typ` values, normalised; absent: DEFAULT_TOKEN_TYPES. */
  tokenTypes?: readonly string[];
}

/** Validates the parsed file; `baseDir` resolves relative `jwksFile` paths. */
export function parseTrustedIssuers(
  value: unknown,
  options: { production: boolean; baseDir: string },
): IssuerDeclaration[] {
  const problems: string[] = [];
  const list = (value as { issuers?: unknown } | null)?.issuers;
  if (typeof value !== 'object' || value === null || !Array.isArray(list))
    throw new TrustedIssuersError(['the file must be an object with an "issuers" list']);
  const declarations: IssuerDeclaration[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of list.entries()) {
    const at = `issuers[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at} must be an object`);
      continue;
    }
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) if (!ISSUER_KEYS.has(key)) problems.push(`${at} has an unknown field "${key}"`);
    const { issuer, audience, tenants } = e;
    if (typeof issuer !== 'string' || issuer.length === 0 || issuer.length > 512)
      problems.push(`${at}.issuer must be a non-empty string`);
    else if (seen.has(issuer)) problems.push(`${at}.issuer is listed twice`);
    else seen.add(issuer);
    if (typeof audience !== 'string' || audience.length === 0)
      problems.push(`${at}.audience must be a non-empty string`);
    const tenantList =
      Array.isArray(tenants) && tenants.length > 0 && tenants.every(isTenantId)
        ? [...(tenants as string[])]
        : undefined;
    if (tenants !== '*' && !tenantList) problems.push(`${at}.tenants must be "*" or a non-empty list of tenant ids`);
    const { tokenTypes } = e;
    const typesOk =
      tokenTypes === undefined ||
      (Array.isArray(tokenTypes) &&
        tokenTypes.length > 0 &&
        tokenTypes.every((t) => typeof t === 'string' && t.length > 0 && t.length <= MAX_TOKEN_TYPE_LENGTH));
    if (!typesOk) problems.push(`${at}.tokenTypes must be a non-empty list of "typ" values such as "at+jwt"`);
    let jwks: IssuerDeclaration['jwks'] | undefined;
    if ((e.jwksUrl === undefined) === (e.jwksFile === undefined))
      problems.push(`${at} must have exactly one of jwksUrl and jwksFile`);
    else if (e.jwksUrl !== undefined) {
      const url = typeof e.jwksUrl === 'string' && URL.canParse(e.jwksUrl) ? new URL(e.jwksUrl) : undefined;
      const protocols = options.production ? ['https:'] : ['https:', 'http:'];
      if (!url || !protocols.includes(url.protocol))
        problems.push(`${at}.jwksUrl must be an ${protocols.join(' or ')} URL`);
      else jwks = { url };
    } else if (typeof e.jwksFile !== 'string' || e.jwksFile.length === 0)
      problems.push(`${at}.jwksFile must be a path`);
    else jwks = { file: resolve(options.baseDir, e.jwksFile) };
    if (jwks && typeof issuer === 'string' && typeof audience === 'string') {
      const declared =
        typesOk && tokenTypes !== undefined ? { tokenTypes: (tokenTypes as string[]).map(normaliseTokenType) } : {};
      declarations.push({ issuer, audience, tenants: tenants === '*' ? '*' : (tenantList ?? []), jwks, ...declared });
    }
  }
  if (problems.length > 0) throw new TrustedIssuersError(problems);
  return declarations;
}

/** Public keys only: a JWKS with a private or symmetric key in it is a leak or a mistake, and refused. */
export function jwksProblems(value: unknown, source: string): string[] {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (typeof value !== 'object' || value === null || !Array.isArray(keys) || keys.length === 0) {
    return [`${source} must be a JWKS with at least one key`];
  }
  const problems: string[] = [];
  keys.forEach((key: unknown, index) => {
    const k = (key ?? {}) as Record<string, unknown>;
    if (!['EC', 'RSA', 'OKP'].includes(k.kty as string))
      problems.push(`${source} key ${index} must be an EC, RSA or OKP public key`);
    if ('d' in k || 'k' in k || 'p' in k) problems.push(`${source} key ${index} contains private key material`);
  });
  return problems;
}

export interface RemoteJwksOptions {
  /** Minimum time between two fetches triggered by an unknown `kid`. */
  cooldownMs: number;
  /** How long a fetched set is used before it is fetched again. */
  cacheMaxAgeMs: number;
  timeoutMs: number;
}

export const DEFAULT_REMOTE_JWKS: RemoteJwksOptions = { cooldownMs: 30_000, cacheMaxAgeMs: 600_000, timeoutMs: 2_000 };

/** Reads the key files now (a missing or bad file stops the start) and prepares the remote sets. */
export function trustDeclaredIssuers(
  declarations: readonly IssuerDeclaration[],
  remote: RemoteJwksOptions = DEFAULT_REMOTE_JWKS,
): TrustedIssuer[] {
  const problems: string[] = [];
  const issuers: TrustedIssuer[] = [];
  for (const declaration of declarations) {
    let keys: JWTVerifyGetKey;
    if ('url' in declaration.jwks) {
      keys = createRemoteJWKSet(declaration.jwks.url, {
        cooldownDuration: remote.cooldownMs,
        cacheMaxAge: remote.cacheMaxAgeMs,
        timeoutDuration: remote.timeoutMs,
      });
    } else {
      const source = `the JWKS file of ${declaration.issuer}`;
      let jwks: unknown;
      try {
        jwks = JSON.parse(readFileSync(declaration.jwks.file, 'utf8'));
      } catch {
        problems.push(`${source} cannot be read as JSON`);
        continue;
      }
      const bad = jwksProblems(jwks, source);
      if (bad.length > 0) {
        problems.push(...bad);
        continue;
      }
      keys = createLocalJWKSet(jwks as JSONWebKeySet);
    }
    const { issuer, audience, tenants, tokenTypes } = declaration;
    issuers.push(Object.freeze({ issuer, audience, tenants, keys, ...(tokenTypes ? { tokenTypes } : {}) }));
  }
  if (problems.length > 0) throw new TrustedIssuersError(problems);
  return issuers;
}

export interface LoadTrustedIssuersOptions {
  /** TRUSTED_ISSUERS_FILE; absent means the development issuer alone. */
  file: string | undefined;
  production: boolean;
  /** The development issuer, trusted for every tenant; refused in production. */
  devIssuer?: { issuer: string; audience: string; jwks: JSONWebKeySet };
  remote?: RemoteJwksOptions;
}

export function loadTrustedIssuers(options: LoadTrustedIssuersOptions): TrustedIssuers {
  if (options.production && options.devIssuer)
    throw new TrustedIssuersError(['the development JWT keys are refused in production']);
  let declared: TrustedIssuer[] = [];
  if (options.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(options.file, 'utf8'));
    } catch {
      throw new TrustedIssuersError(['TRUSTED_ISSUERS_FILE cannot be read as JSON']);
    }
    declared = trustDeclaredIssuers(
      parseTrustedIssuers(parsed, { production: options.production, baseDir: dirname(options.file) }),
      options.remote,
    );
  }
  const issuers = [...declared];
  if (options.devIssuer) {
    const dev = options.devIssuer;
    if (declared.some((issuer) => issuer.issuer === dev.issuer)) {
      throw new TrustedIssuersError([
        `issuer ${dev.issuer} is the development issuer and cannot be declared outside production`,
      ]);
    }
    // `npm run token` (cli/dev-token.ts) mints access tokens typed `at+jwt`.
    issuers.push({
      issuer: dev.issuer,
      audience: dev.audience,
      tenants: '*',
      keys: createLocalJWKSet(dev.jwks),
      tokenTypes: DEFAULT_TOKEN_TYPES,
    });
  }
  if (issuers.length === 0) throw new TrustedIssuersError(['no issuer is trusted: set TRUSTED_ISSUERS_FILE']);
  return new TrustedIssuers(issuers);
}

export class TrustedIssuers {
  private readonly byIssuer: ReadonlyMap<string, TrustedIssuer>;

  constructor(issuers: readonly TrustedIssuer[]) {
    this.byIssuer = new Map(issuers.map((issuer) => [issuer.issuer, issuer]));
  }

  /**
   * Verifies the token against the keys of the issuer it names. Choosing the keys by the unverified `iss` is
   * safe: only that issuer's keys can verify the signature, and jose checks `iss` again on the verified payload.
   */
  async verify(token: string, now: number): Promise<{ payload: JWTPayload; issuer: TrustedIssuer }> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new TokenRefusedError('malformed');
    }
    for (const name of KEY_CARRYING_HEADERS) if (name in header) throw new TokenRefusedError(`header-${name}`);
    if (typeof header.alg !== 'string' || !ALLOWED_JWT_ALGORITHMS.includes(header.alg)) {
      throw new TokenRefusedError('ERR_JOSE_ALG_NOT_ALLOWED');
    }
    const issuer = typeof unverified.iss === 'string' ? this.byIssuer.get(unverified.iss) : undefined;
    if (!issuer) throw new TokenRefusedError('untrusted-issuer');
    // Checked on the unverified header before the signature: a token of the wrong type is refused whoever signed it.
    if (
      typeof header.typ !== 'string' ||
      !(issuer.tokenTypes ?? DEFAULT_TOKEN_TYPES).includes(normaliseTokenType(header.typ))
    ) {
      throw new TokenRefusedError('typ');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.keys, {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: [...ALLOWED_JWT_ALGORITHMS],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now),
      }));
    } catch (error) {
      if (keySetUnreachable(error)) throw new KeySetUnavailableError({ cause: error });
      throw new TokenRefusedError(joseReason(error as joseErrors.JOSEError));
    }
    // jose checks `iat` only together with a maximum token age; a token from the future is refused regardless.
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw new TokenRefusedError('ERR_JWT_CLAIM_VALIDATION_FAILED:iat');
    }
    return { payload, issuer };
  }
}

/**
 * A remote key set that times out, answers non-200 (jose's generic error) or fails to connect (a plain error from
 * fetch). Every verdict about the token itself is a specific JOSE error.
 */
function keySetUnreachable(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout) return true;
  if (error instanceof joseErrors.JOSEError) return error.code === 'ERR_JOSE_GENERIC';
  return true;
}

function joseReason(error: joseErrors.JOSEError): string {
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `${error.code}:${error.claim}`;
  return error.code;
}
