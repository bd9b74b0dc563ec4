import {
  SignJWT,
  base64url,
  createLocalJWKSet,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { createLogger } from '../../../common/logger';
import { ApiKeyVerifier, type ApiKeySource } from '../credentials/api-key-verifier';
import { hashApiKeySecret, type StoredApiKey } from '../credentials/api-keys';
import { TrustedIssuers } from '../credentials/issuers';
import { createTenantDirectory, type TenantDirectory } from '../tenants/directory';
import { DEFAULT_PLANS } from '../tenants/plan';
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';
import type { TenantRecord } from '../tenants/tenant';
import { signTestToken, TEST_AUDIENCE, TEST_ISSUER } from '../testing/jwt';
import {
  AuthenticationError,
  NotVerifiedFromMemoryError,
  TenantAccessError,
  VerifiedTokenCache,
  createAuthenticator,
  type AuthenticateOptions,
  type Authenticator,
  type PresentedCredentials,
} from './authenticate';
import type { Caller } from '../request';

interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

async function signingKey(alg: string, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey };
}

/** A tenant's own identity provider, trusted for acme only. */
const ACME_IDP = 'https://login.acme.example';

let keys: Record<'es' | 'rs' | 'ps' | 'ed' | 'acme' | 'stranger', SigningKey>;
let jwks: JSONWebKeySet;
let acmeJwks: JSONWebKeySet;

beforeAll(async () => {
  keys = {
    es: await signingKey('ES256', 'es'),
    rs: await signingKey('RS256', 'rs'),
    ps: await signingKey('PS256', 'ps'),
    ed: await signingKey('EdDSA', 'ed'),
    acme: await signingKey('ES256', 'acme-1'),
    stranger: await signingKey('ES256', 'stranger'),
  };
  const publicJwk = async (k: SigningKey) => ({ ...(await exportJWK(k.publicKey)), kid: k.kid, alg: k.alg });
  jwks = { keys: await Promise.all([keys.es, keys.rs, keys.ps, keys.ed].map(publicJwk)) };
  acmeJwks = { keys: [await publicJwk(keys.acme)] };
});

function tenant(id: string, overrides: Partial<TenantRecord> = {}): TenantRecord {
  return {
    id,
    name: id,
    status: 'active',
    isolation: 'pooled',
    placementEpoch: 0,
    plan: DEFAULT_PLANS[0]!,
    origins: [],
    authzMode: 'reject',
    costMode: 'enforce',
    safelistMode: 'off',
    ...overrides,
  };
}

/** The registry as the directory reads it: tests change it and announce the change, as the CLI does. */
let registry: Map<string, TenantRecord>;
let directory: TenantDirectory;
let storedKeys: Map<string, StoredApiKey>;
let apiKeys: ApiKeyVerifier;
const quiet = createLogger({ sink: () => undefined });

beforeEach(() => {
  registry = new Map([
    ['acme', tenant('acme')],
    ['globex', tenant('globex')],
  ]);
  directory = createTenantDirectory({
    source: { getTenant: async (id) => registry.get(id), activeOrigins: async () => [] },
    logger: quiet,
  });
  storedKeys = new Map();
  const source: ApiKeySource = {
    findForVerification: async (id) => storedKeys.get(id),
    recordUse: async () => undefined,
  };
  apiKeys = new ApiKeyVerifier({ source, logger: quiet });
});

afterEach(async () => {
  await apiKeys.close();
});

function authenticator(options: Partial<AuthenticateOptions> = {}): Authenticator {
  const issuers = new TrustedIssuers([
    { issuer: TEST_ISSUER, audience: TEST_AUDIENCE, tenants: '*', keys: createLocalJWKSet(jwks) },
    { issuer: ACME_IDP, audience: 'acme-shop', tenants: ['acme'], keys: createLocalJWKSet(acmeJwks) },
  ]);
  return createAuthenticator({ issuers, apiKeys, directory, ...options });
}

function sign(
  claims: JWTPayload = {},
  key: SigningKey = keys.es,
  header: Record<string, unknown> = {},
): Promise<string> {
  return signTestToken(key.privateKey, claims, { alg: key.alg, kid: key.kid, ...header });
}

const bearer = (token: string): PresentedCredentials => ({ authorization: `Bearer ${token}` });

async function refusalOf(presented: PresentedCredentials, authenticate = authenticator()): Promise<string> {
  try {
    await authenticate(presented);
  } catch (error) {
    if (error instanceof AuthenticationError) return error.reason;
    if (error instanceof TenantAccessError) return error.refusal;
    throw error;
  }
  throw new Error('expected the credentials to be refused');
}

const reasonFor = (authorization: string | undefined, authenticate = authenticator()) =>
  refusalOf({ authorization }, authenticate);

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('authenticate', () => {
  it.each([['es'], ['rs'], ['ps'], ['ed']] as const)('accepts a valid token signed with the %s key', async (name) => {
    const token = await sign({ tenant: 'acme', sub: 'user-7', roles: ['admin', 'staff', 'admin'] }, keys[name]);
    const { caller, tenant: record } = await authenticator()(bearer(token));
    expect(caller).toEqual<Caller>({
      tenantId: 'acme',
      principal: 'user-7',
      roles: ['admin', 'staff'],
      credential: 'jwt',
      tokenExpiresAt: expect.any(Number) as number,
    });
    expect(caller.tokenExpiresAt).toBeGreaterThan(Date.now());
    expect(record).toBe(registry.get('acme'));
  });

  it('accepts an empty role list (a caller with no rights beyond being one)', async () => {
    const { caller } = await authenticator()(bearer(await sign({ roles: [] })));
    expect(caller.roles).toEqual([]);
  });

  it('accepts the developer role', async () => {
    const { caller } = await authenticator()(bearer(await sign({ roles: ['developer'] })));
    expect(caller.roles).toEqual(['developer']);
  });

  describe('refuses the Authorization header', () => {
    it.each([
      ['missing', undefined, 'missing-credentials'],
      ['empty', '', 'missing-credentials'],
      ['of another scheme', 'Basic dXNlcjpwYXNz', 'malformed-authorization'],
      ['without a token', 'Bearer ', 'malformed-authorization'],
      ['with two parts', 'Bearer abc.def', 'malformed-authorization'],
      ['with junk characters', 'Bearer a.b.c!', 'malformed-authorization'],
      ['with two tokens', 'Bearer a.b.c d.e.f', 'malformed-authorization'],
      ['oversized', `Bearer ${'a'.repeat(9000)}.b.c`, 'malformed-authorization'],
      ['with three segments that are not a JWT', 'Bearer a.b.c', 'jwt:malformed'],
    ])('when %s', async (_label, header, reason) => {
      expect(await reasonFor(header)).toBe(reason);
    });
  });

  describe('refuses the token', () => {
    it.each([['none'], ['None'], ['NONE'], ['nOnE']])('with alg %s', async (alg) => {
      const header = base64url.encode(JSON.stringify({ alg, typ: 'JWT' }));
      const payload = base64url.encode(
        JSON.stringify({
          iss: TEST_ISSUER,
          aud: TEST_AUDIENCE,
          sub: 'u',
          tenant: 'acme',
          roles: [],
          exp: nowSeconds() + 60,
        }),
      );
      expect(await reasonFor(`Bearer ${header}.${payload}.`)).toBe('jwt:ERR_JOSE_ALG_NOT_ALLOWED');
    });

    it('signed with HS256 using the public key as the secret', async () => {
      const secret = new TextEncoder().encode(await exportSPKI(keys.rs.publicKey));
      const token = await new SignJWT({ sub: 'u', tenant: 'acme', roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256', kid: 'rs' })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setExpirationTime('1h')
        .sign(secret);
      expect(await reasonFor(`Bearer ${token}`)).toBe('jwt:ERR_JOSE_ALG_NOT_ALLOWED');
    });

    it.each([
      ['jku', 'https://evil.example/jwks.json'],
      ['x5u', 'https://evil.example/cert.pem'],
      ['x5c', ['MIIBszCCAVmgAwIBAgIU']],
    ])('carrying a %s header, even when the signature is good', async (name, value) => {
      expect(await reasonFor(`Bearer ${await sign({}, keys.es, { [name]: value })}`)).toBe(`jwt:header-${name}`);
    });

    it('carrying its own key in a jwk header', async () => {
      // The attacker's own key, embedded so a naive verifier would use it: the signature verifies with it.
      const jwk = { ...(await exportJWK(keys.stranger.publicKey)), alg: 'ES256' };
      const token = await signTestToken(keys.stranger.privateKey, {}, { alg: 'ES256', kid: 'stranger', jwk });
      expect(await reasonFor(`Bearer ${token}`)).toBe('jwt:header-jwk');
    });

    it('with a tampered payload', async () => {
      const [header, , signature] = (await sign()).split('.');
      const payload = base64url.encode(
        JSON.stringify({
          iss: TEST_ISSUER,
          aud: TEST_AUDIENCE,
          sub: 'u',
          tenant: 'globex',
          roles: ['admin'],
          exp: nowSeconds() + 60,
        }),
      );
      expect(await reasonFor(`Bearer ${header}.${payload}.${signature}`)).toBe(
        'jwt:ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
    });

    it('with a kid the issuer does not have', async () => {
      expect(await reasonFor(`Bearer ${await sign({}, keys.stranger)}`)).toBe('jwt:ERR_JWKS_NO_MATCHING_KEY');
    });

    it('signed by a stranger claiming a known kid', async () => {
      const token = await signTestToken(keys.stranger.privateKey, {}, { alg: 'ES256', kid: 'es' });
      expect(await reasonFor(`Bearer ${token}`)).toBe('jwt:ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    });

    it("signed with another trusted issuer's key", async () => {
      expect(await reasonFor(`Bearer ${await sign({}, keys.acme)}`)).toBe('jwt:ERR_JWKS_NO_MATCHING_KEY');
    });

    it('expired beyond the clock tolerance', async () => {
      expect(await reasonFor(`Bearer ${await sign({ exp: nowSeconds() - 120 })}`)).toBe('jwt:ERR_JWT_EXPIRED');
    });

    it('not valid before a time in the future', async () => {
      expect(await reasonFor(`Bearer ${await sign({ nbf: nowSeconds() + 3600 })}`)).toBe(
        'jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:nbf',
      );
    });

    it('issued in the future beyond the clock tolerance', async () => {
      expect(await reasonFor(`Bearer ${await sign({ iat: nowSeconds() + 120 })}`)).toBe(
        'jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:iat',
      );
    });

    it('without exp', async () => {
      expect(await reasonFor(`Bearer ${await sign({ exp: undefined })}`)).toBe(
        'jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:exp',
      );
    });

    it('from an issuer that is not trusted', async () => {
      expect(await reasonFor(`Bearer ${await sign({ iss: 'https://evil.example' })}`)).toBe('jwt:untrusted-issuer');
    });

    it('for another audience', async () => {
      expect(await reasonFor(`Bearer ${await sign({ aud: 'someone-else' })}`)).toBe(
        'jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:aud',
      );
    });

    it("for another trusted issuer's audience", async () => {
      expect(await reasonFor(`Bearer ${await sign({ iss: ACME_IDP, aud: TEST_AUDIENCE }, keys.acme)}`)).toBe(
        'jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:aud',
      );
    });
  });

  it('tolerates a minute of clock skew', async () => {
    const token = await sign({ exp: nowSeconds() - 30, iat: nowSeconds() + 30, nbf: nowSeconds() + 30 });
    await expect(authenticator()(bearer(token))).resolves.toMatchObject({ caller: { tenantId: 'acme' } });
  });

  describe('refuses the claims', () => {
    it.each([
      ['a missing tenant', { tenant: undefined }],
      ['an empty tenant', { tenant: '' }],
      ['a list of tenants', { tenant: ['acme', 'globex'] }],
      ['a one-element list', { tenant: ['acme'] }],
      ['a wildcard tenant', { tenant: '*' }],
      ['an object tenant', { tenant: { $ne: null } }],
      ['a tenant with key syntax', { tenant: 'acme:admin' }],
      ['an upper-case tenant', { tenant: 'ACME' }],
    ])('with %s', async (_label, claims) => {
      expect(await reasonFor(`Bearer ${await sign(claims as JWTPayload)}`)).toBe('bad-tenant-claim');
    });

    it.each([
      ['a missing subject', { sub: undefined }],
      ['an empty subject', { sub: '' }],
      ['a subject over 128 characters', { sub: 'u'.repeat(129) }],
      ['a subject with a newline', { sub: 'user\n{"level":"error"}' }],
    ])('with %s', async (_label, claims) => {
      expect(await reasonFor(`Bearer ${await sign(claims)}`)).toBe('bad-subject-claim');
    });

    it.each([
      ['missing roles', { roles: undefined }],
      ['roles as a string', { roles: 'admin' }],
      ['an unknown role', { roles: ['customer', 'root'] }],
      ['a non-string role', { roles: [1] }],
    ])('with %s', async (_label, claims) => {
      expect(await reasonFor(`Bearer ${await sign(claims as JWTPayload)}`)).toBe('bad-roles-claim');
    });
  });

  describe("an issuer's tenants", () => {
    it('accepts a tenant IdP speaking for its own tenant', async () => {
      const token = await sign({ iss: ACME_IDP, aud: 'acme-shop' }, keys.acme);
      await expect(authenticator()(bearer(token))).resolves.toMatchObject({ caller: { tenantId: 'acme' } });
    });

    it('refuses a tenant IdP speaking for another tenant', async () => {
      const token = await sign({ iss: ACME_IDP, aud: 'acme-shop', tenant: 'globex' }, keys.acme);
      expect(await refusalOf(bearer(token))).toBe('tenant-not-allowed-for-issuer');
    });
  });

  describe('the tenant', () => {
    it('refuses a tenant the registry does not have', async () => {
      expect(await refusalOf(bearer(await sign({ tenant: 'initech' })))).toBe('TENANT_UNKNOWN');
    });

    it('refuses a suspended tenant, also for a token it has already verified', async () => {
      const authenticate = authenticator();
      const presented = bearer(await sign());
      await authenticate(presented);
      registry.set('acme', tenant('acme', { status: 'suspended' }));
      directory.applyChange({ kind: 'tenant', id: 'acme' });
      expect(await refusalOf(presented, authenticate)).toBe('TENANT_SUSPENDED');
      registry.set('acme', tenant('acme'));
      directory.applyChange({ kind: 'tenant', id: 'acme' });
      await expect(authenticate(presented)).resolves.toMatchObject({ caller: { tenantId: 'acme' } });
    });

    it('fails closed when the tenant cannot be looked up', async () => {
      directory = createTenantDirectory({
        source: { getTenant: () => Promise.reject(new Error('no route to host')), activeOrigins: async () => [] },
        logger: quiet,
      });
      await expect(authenticator()(bearer(await sign()))).rejects.toBeInstanceOf(ControlPlaneUnavailableError);
    });
  });

  describe('API keys', () => {
    const KEY_ID = 'AbCdEf123456';
    const SECRET = 'S'.repeat(20) + 'e'.repeat(20);
    const KEY = `tg_live_${KEY_ID}_${SECRET}`;

    function storeKey(overrides: Partial<StoredApiKey> = {}): void {
      storedKeys.set(KEY_ID, {
        id: KEY_ID,
        tenantId: 'globex',
        clientName: 'Warehouse sync',
        scopes: ['inventory:read', 'inventory:write'],
        manifest: 'warehouse-v1',
        createdAt: new Date(Date.now() - 60_000),
        expiresAt: new Date(Date.now() + 3_600_000),
        secretHash: hashApiKeySecret(SECRET),
        ...overrides,
      });
    }

    it.each([
      ['X-Api-Key', { apiKey: KEY }],
      ['Authorization: ApiKey', { authorization: `ApiKey ${KEY}` }],
    ])('authenticates a partner by %s, with scopes and no roles', async (_label, presented) => {
      storeKey();
      const { caller } = await authenticator()(presented);
      expect(caller).toEqual<Caller>({
        tenantId: 'globex',
        principal: `key:${KEY_ID}`,
        roles: [],
        credential: 'apiKey',
        tokenExpiresAt: storedKeys.get(KEY_ID)!.expiresAt.getTime(),
        scopes: ['inventory:read', 'inventory:write'],
        apiKeyId: KEY_ID,
        clientName: 'Warehouse sync',
        manifest: 'warehouse-v1',
      });
    });

    it('ends a retiring key at the end of its overlap', async () => {
      const retiresAt = new Date(Date.now() + 60_000);
      storeKey({ retiresAt, replacedBy: 'ZyXwVu987654' });
      const { caller } = await authenticator()({ apiKey: KEY });
      expect(caller.tokenExpiresAt).toBe(retiresAt.getTime());
    });

    it.each([
      ['an unknown key', {}, 'api-key:unknown'],
      ['a revoked key', { revokedAt: new Date() }, 'api-key:revoked'],
      ['an expired key', { expiresAt: new Date(Date.now() - 1_000) }, 'api-key:expired'],
      ['a rotated-out key', { retiresAt: new Date(Date.now() - 1_000) }, 'api-key:rotated-out'],
      ['a wrong secret', { secretHash: hashApiKeySecret('x'.repeat(40)) }, 'api-key:bad-secret'],
    ])('refuses %s', async (label, overrides, reason) => {
      if (label !== 'an unknown key') storeKey(overrides);
      expect(await refusalOf({ apiKey: KEY })).toBe(reason);
    });

    it.each([
      ['a key of another shape', { apiKey: 'tg_live_short_secret' }, 'api-key:malformed'],
      ['a test-environment key', { apiKey: KEY.replace('tg_live_', 'tg_test_') }, 'api-key:malformed'],
      ['a key and a token at once', { apiKey: KEY, authorization: 'Bearer a.b.c' }, 'ambiguous-credentials'],
    ])('refuses %s', async (_label, presented, reason) => {
      storeKey();
      expect(await refusalOf(presented)).toBe(reason);
    });

    it("refuses a key of a suspended tenant with the tenant's refusal", async () => {
      storeKey();
      registry.set('globex', tenant('globex', { status: 'suspended' }));
      expect(await refusalOf({ apiKey: KEY })).toBe('TENANT_SUSPENDED');
    });
  });

  describe('verified-token cache', () => {
    it('answers a repeated token from the cache', async () => {
      const authenticate = authenticator();
      const presented = bearer(await sign());
      const first = await authenticate(presented);
      expect((await authenticate(presented)).caller).toBe(first.caller);
    });

    it('never keeps a token past its exp', async () => {
      let now = Date.now();
      const authenticate = authenticator({ now: () => now });
      const exp = Math.floor(now / 1000) + 30;
      const presented = bearer(await sign({ exp }));
      const first = await authenticate(presented);
      now += 10_000;
      expect((await authenticate(presented)).caller).toBe(first.caller);
      now = exp * 1000 + 120_000;
      expect(await refusalOf(presented, authenticate)).toBe('jwt:ERR_JWT_EXPIRED');
    });

    it('re-verifies after the cache lifetime even if the token lives longer', async () => {
      let now = Date.now();
      const authenticate = authenticator({ now: () => now, cacheTtlMs: 60_000 });
      const presented = bearer(await sign());
      const first = await authenticate(presented);
      now += 61_000;
      const second = await authenticate(presented);
      expect(second.caller).not.toBe(first.caller);
      expect(second.caller).toEqual(first.caller);
    });

    it('drops the least recently used token when full', async () => {
      const authenticate = authenticator({ cacheMaxEntries: 2 });
      const [a, b, c] = (await Promise.all([sign({ sub: 'a' }), sign({ sub: 'b' }), sign({ sub: 'c' })])).map(bearer);
      const callerA = (await authenticate(a!)).caller;
      const callerB = (await authenticate(b!)).caller;
      expect((await authenticate(a!)).caller).toBe(callerA); // a is now the most recent
      await authenticate(c!); // evicts b
      expect((await authenticate(a!)).caller).toBe(callerA);
      expect((await authenticate(b!)).caller).not.toBe(callerB);
    });
  });
});

describe('authenticate from memory only (a held-back client)', () => {
  const KEY_ID = 'AbCdEf123456';
  const SECRET = 'S'.repeat(20) + 'e'.repeat(20);
  const KEY = `tg_live_${KEY_ID}_${SECRET}`;

  beforeEach(() => {
    storedKeys.set(KEY_ID, {
      id: KEY_ID,
      tenantId: 'globex',
      clientName: 'Warehouse sync',
      scopes: ['inventory:read'],
      manifest: 'warehouse-v1',
      createdAt: new Date(Date.now() - 60_000),
      expiresAt: new Date(Date.now() + 3_600_000),
      secretHash: hashApiKeySecret(SECRET),
    });
  });

  it('accepts a token it verified before, and nothing it would have to verify', async () => {
    const authenticate = authenticator();
    const known = bearer(await sign());
    await expect(authenticate(known, { fromMemoryOnly: true })).rejects.toBeInstanceOf(NotVerifiedFromMemoryError);
    const { caller } = await authenticate(known);
    expect((await authenticate(known, { fromMemoryOnly: true })).caller).toBe(caller);
    await expect(authenticate(bearer(await sign({ sub: 'other' })), { fromMemoryOnly: true })).rejects.toBeInstanceOf(
      NotVerifiedFromMemoryError,
    );
  });

  it('accepts an API key whose record is cached, and refuses a wrong secret for it without a read', async () => {
    const authenticate = authenticator();
    await expect(authenticate({ apiKey: KEY }, { fromMemoryOnly: true })).rejects.toBeInstanceOf(
      NotVerifiedFromMemoryError,
    );
    await authenticate({ apiKey: KEY });
    expect((await authenticate({ apiKey: KEY }, { fromMemoryOnly: true })).caller.apiKeyId).toBe(KEY_ID);
    const wrong = `tg_live_${KEY_ID}_${'x'.repeat(40)}`;
    const error = await authenticate({ apiKey: wrong }, { fromMemoryOnly: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ reason: 'api-key:bad-secret', apiKeyId: KEY_ID });
  });

  it('names the key id of a wrong secret only, for the per-key limit', async () => {
    const authenticate = authenticator();
    await expect(authenticate({ apiKey: `tg_live_${KEY_ID}_${'x'.repeat(40)}` })).rejects.toMatchObject({
      apiKeyId: KEY_ID,
    });
    await expect(authenticate({ apiKey: `tg_live_Unknown12345_${SECRET}` })).rejects.toMatchObject({
      reason: 'api-key:unknown',
      apiKeyId: undefined,
    });
  });

  it('does not read a tenant the directory has never loaded', async () => {
    const authenticate = authenticator();
    const token = bearer(await sign({ tenant: 'initech' }));
    // Verified (and cached) once, refused for its tenant, which is then still unknown to the directory.
    await expect(authenticate(token)).rejects.toBeInstanceOf(TenantAccessError);
    registry.set('initech', tenant('initech'));
    await expect(authenticate(token, { fromMemoryOnly: true })).rejects.toBeInstanceOf(NotVerifiedFromMemoryError);
  });
});

describe('VerifiedTokenCache', () => {
  const caller = (tokenExpiresAt: number): Caller => ({
    tenantId: 'acme',
    principal: 'u',
    roles: [],
    credential: 'jwt',
    tokenExpiresAt,
  });

  it('does not store a token that has already expired', () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    cache.set('t', caller(1_000), 2_000);
    expect(cache.size).toBe(0);
  });

  it('forgets an entry once it is read after its end', () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    cache.set('t', caller(5_000), 1_000);
    expect(cache.get('t', 4_999)).toBeDefined();
    expect(cache.get('t', 5_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('stays within its bound', () => {
    const cache = new VerifiedTokenCache(3, 60_000);
    for (let i = 0; i < 10; i++) cache.set(`t${i}`, caller(100_000), 0);
    expect(cache.size).toBe(3);
    expect(cache.get('t9', 1)).toBeDefined();
    expect(cache.get('t0', 1)).toBeUndefined();
  });
});
