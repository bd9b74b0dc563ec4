import {
  SignJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { signTestToken, TEST_AUDIENCE, TEST_ISSUER } from '../testing/jwt';
import {
  AuthenticationError,
  VerifiedTokenCache,
  createAuthenticator,
  type AuthenticateOptions,
  type Authenticator,
} from './authenticate';
import type { Caller } from './index';

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

let keys: Record<'es' | 'rs' | 'ps' | 'ed' | 'stranger', SigningKey>;
let jwks: JSONWebKeySet;

beforeAll(async () => {
  keys = {
    es: await signingKey('ES256', 'es'),
    rs: await signingKey('RS256', 'rs'),
    ps: await signingKey('PS256', 'ps'),
    ed: await signingKey('EdDSA', 'ed'),
    stranger: await signingKey('ES256', 'stranger'),
  };
  jwks = {
    keys: await Promise.all(
      [keys.es, keys.rs, keys.ps, keys.ed].map(async (k) => ({ ...(await exportJWK(k.publicKey)), kid: k.kid, alg: k.alg })),
    ),
  };
});

function authenticator(options: Partial<AuthenticateOptions> = {}): Authenticator {
  return createAuthenticator({ jwks, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, ...options });
}

function sign(claims: JWTPayload = {}, key: SigningKey = keys.es): Promise<string> {
  return signTestToken(key.privateKey, claims, { alg: key.alg, kid: key.kid });
}

async function reasonFor(authorization: string | undefined, authenticate = authenticator()): Promise<string> {
  try {
    await authenticate(authorization);
  } catch (error) {
    if (error instanceof AuthenticationError) return error.reason;
    throw error;
  }
  throw new Error('expected the credentials to be refused');
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('authenticate', () => {
  it.each([['es'], ['rs'], ['ps'], ['ed']] as const)('accepts a valid token signed with the %s key', async (name) => {
    const token = await sign({ tenant: 'acme', sub: 'user-7', roles: ['admin', 'staff', 'admin'] }, keys[name]);
    const caller = await authenticator()(`Bearer ${token}`);
    expect(caller).toEqual<Caller>({
      tenantId: 'acme',
      principal: 'user-7',
      roles: ['admin', 'staff'],
      credential: 'jwt',
      tokenExpiresAt: expect.any(Number) as number,
    });
    expect(caller.tokenExpiresAt).toBeGreaterThan(Date.now());
  });

  it('accepts an empty role list (a caller with no rights beyond being one)', async () => {
    const caller = await authenticator()(`Bearer ${await sign({ roles: [] })}`);
    expect(caller.roles).toEqual([]);
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
    ])('when %s', async (_label, header, reason) => {
      expect(await reasonFor(header)).toBe(reason);
    });
  });

  describe('refuses the token', () => {
    it('with alg none', async () => {
      const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const payload = base64url.encode(
        JSON.stringify({ iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'u', tenant: 'acme', roles: [], exp: nowSeconds() + 60 }),
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

    it('with a tampered payload', async () => {
      const [header, , signature] = (await sign()).split('.');
      const payload = base64url.encode(
        JSON.stringify({ iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'u', tenant: 'globex', roles: ['admin'], exp: nowSeconds() + 60 }),
      );
      expect(await reasonFor(`Bearer ${header}.${payload}.${signature}`)).toBe('jwt:ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    });

    it('signed by a key the gateway does not know', async () => {
      expect(await reasonFor(`Bearer ${await sign({}, keys.stranger)}`)).toBe('jwt:ERR_JWKS_NO_MATCHING_KEY');
    });

    it('signed by a stranger claiming a known kid', async () => {
      const token = await signTestToken(keys.stranger.privateKey, {}, { alg: 'ES256', kid: 'es' });
      expect(await reasonFor(`Bearer ${token}`)).toBe('jwt:ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    });

    it('expired beyond the clock tolerance', async () => {
      expect(await reasonFor(`Bearer ${await sign({ exp: nowSeconds() - 120 })}`)).toBe('jwt:ERR_JWT_EXPIRED');
    });

    it('not valid before a time in the future', async () => {
      expect(await reasonFor(`Bearer ${await sign({ nbf: nowSeconds() + 3600 })}`)).toBe('jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:nbf');
    });

    it('without exp', async () => {
      expect(await reasonFor(`Bearer ${await sign({ exp: undefined })}`)).toBe('jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:exp');
    });

    it('from another issuer', async () => {
      expect(await reasonFor(`Bearer ${await sign({ iss: 'https://evil.example' })}`)).toBe('jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:iss');
    });

    it('for another audience', async () => {
      expect(await reasonFor(`Bearer ${await sign({ aud: 'someone-else' })}`)).toBe('jwt:ERR_JWT_CLAIM_VALIDATION_FAILED:aud');
    });
  });

  it('tolerates a minute of clock skew', async () => {
    await expect(authenticator()(`Bearer ${await sign({ exp: nowSeconds() - 30 })}`)).resolves.toMatchObject({ tenantId: 'acme' });
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

  describe('verified-token cache', () => {
    it('answers a repeated token from the cache', async () => {
      const authenticate = authenticator();
      const header = `Bearer ${await sign()}`;
      const first = await authenticate(header);
      expect(await authenticate(header)).toBe(first);
    });

    it('never keeps a token past its exp', async () => {
      let now = Date.now();
      const authenticate = authenticator({ now: () => now });
      const exp = Math.floor(now / 1000) + 30;
      const header = `Bearer ${await sign({ exp })}`;
      const first = await authenticate(header);
      now += 10_000;
      expect(await authenticate(header)).toBe(first);
      now = exp * 1000 + 120_000;
      expect(await reasonFor(header, authenticate)).toBe('jwt:ERR_JWT_EXPIRED');
    });

    it('re-verifies after the cache lifetime even if the token lives longer', async () => {
      let now = Date.now();
      const authenticate = authenticator({ now: () => now, cacheTtlMs: 60_000 });
      const header = `Bearer ${await sign()}`;
      const first = await authenticate(header);
      now += 61_000;
      const second = await authenticate(header);
      expect(second).not.toBe(first);
      expect(second).toEqual(first);
    });

    it('drops the least recently used token when full', async () => {
      const authenticate = authenticator({ cacheMaxEntries: 2 });
      const [a, b, c] = await Promise.all([sign({ sub: 'a' }), sign({ sub: 'b' }), sign({ sub: 'c' })]);
      const callerA = await authenticate(`Bearer ${a}`);
      const callerB = await authenticate(`Bearer ${b}`);
      expect(await authenticate(`Bearer ${a}`)).toBe(callerA); // a is now the most recent
      await authenticate(`Bearer ${c}`); // evicts b
      expect(await authenticate(`Bearer ${a}`)).toBe(callerA);
      expect(await authenticate(`Bearer ${b}`)).not.toBe(callerB);
    });
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
