import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { signTestToken, TEST_AUDIENCE, TEST_ISSUER } from '../testing/jwt';
import {
  KeySetUnavailableError,
  TokenRefusedError,
  TrustedIssuersError,
  jwksProblems,
  loadTrustedIssuers,
  parseTrustedIssuers,
  trustDeclaredIssuers,
  type TrustedIssuers,
} from './issuers';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-issuers-test-'));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof TrustedIssuersError) return error.problems;
    throw error;
  }
  throw new Error('expected the issuers to be refused');
}

async function refusal(issuers: TrustedIssuers, token: string): Promise<string> {
  try {
    await issuers.verify(token, Date.now());
  } catch (error) {
    if (error instanceof TokenRefusedError) return error.reason;
    throw error;
  }
  throw new Error('expected the token to be refused');
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function key(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

describe('parseTrustedIssuers', () => {
  const options = { production: true, baseDir: '/etc/tollgate' };

  it('reads issuers, their audiences, tenants and key sources', () => {
    expect(
      parseTrustedIssuers(
        {
          issuers: [
            {
              issuer: 'https://id.example.com/',
              audience: 'tollgate',
              tenants: '*',
              jwksUrl: 'https://id.example.com/jwks.json',
            },
            { issuer: 'https://login.acme.example', audience: 'acme', tenants: ['acme'], jwksFile: 'acme.json' },
          ],
        },
        options,
      ),
    ).toEqual([
      {
        issuer: 'https://id.example.com/',
        audience: 'tollgate',
        tenants: '*',
        jwks: { url: new URL('https://id.example.com/jwks.json') },
      },
      {
        issuer: 'https://login.acme.example',
        audience: 'acme',
        tenants: ['acme'],
        jwks: { file: '/etc/tollgate/acme.json' },
      },
    ]);
  });

  it('lists every problem at once', () => {
    expect(
      problemsOf(() =>
        parseTrustedIssuers(
          {
            issuers: [
              { issuer: 'a', audience: 'x', tenants: 'acme', jwksFile: 'a.json' },
              { issuer: 'b', audience: '', tenants: [], jwksFile: 'b.json', jwksUrl: 'https://b/jwks' },
              { issuer: 'c', audience: 'x', tenants: ['ACME'], jwksUrl: 'http://c.example/jwks' },
              { issuer: 'a', audience: 'x', tenant: ['acme'], jwksFile: 'a.json' },
              'd',
            ],
          },
          options,
        ),
      ),
    ).toEqual([
      'issuers[0].tenants must be "*" or a non-empty list of tenant ids',
      'issuers[1].audience must be a non-empty string',
      'issuers[1].tenants must be "*" or a non-empty list of tenant ids',
      'issuers[1] must have exactly one of jwksUrl and jwksFile',
      'issuers[2].tenants must be "*" or a non-empty list of tenant ids',
      'issuers[2].jwksUrl must be an https: URL',
      'issuers[3] has an unknown field "tenant"',
      'issuers[3].issuer is listed twice',
      'issuers[3].tenants must be "*" or a non-empty list of tenant ids',
      'issuers[4] must be an object',
    ]);
  });

  it('allows a plain-http key set URL outside production only', () => {
    const file = { issuers: [{ issuer: 'i', audience: 'a', tenants: '*', jwksUrl: 'http://127.0.0.1:8080/jwks' }] };
    expect(parseTrustedIssuers(file, { ...options, production: false })).toHaveLength(1);
    expect(problemsOf(() => parseTrustedIssuers(file, options))).toEqual(['issuers[0].jwksUrl must be an https: URL']);
  });

  it('refuses a file without an issuers list', () => {
    expect(problemsOf(() => parseTrustedIssuers([], options))).toEqual([
      'the file must be an object with an "issuers" list',
    ]);
  });
});

describe('key sets', () => {
  it('refuses private and symmetric keys', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    expect(jwksProblems({ keys: [await exportJWK(privateKey)] }, 'the file')).toEqual([
      'the file key 0 contains private key material',
    ]);
    expect(jwksProblems({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, 'the file')).toEqual([
      'the file key 0 must be an EC, RSA or OKP public key',
      'the file key 0 contains private key material',
    ]);
    expect(jwksProblems({ keys: [] }, 'the file')).toEqual(['the file must be a JWKS with at least one key']);
  });

  it('reads key files at start and says which issuer a bad one belongs to', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(
      problemsOf(() =>
        trustDeclaredIssuers([{ issuer: 'https://x', audience: 'a', tenants: '*', jwks: { file: bad } }]),
      ),
    ).toEqual(['the JWKS file of https://x cannot be read as JSON']);
  });
});

describe('loadTrustedIssuers', () => {
  let signer: Key;
  let file: string;

  beforeAll(async () => {
    signer = await key('k1');
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [signer.publicJwk] }));
    file = join(dir, 'issuers.json');
    writeFileSync(
      file,
      JSON.stringify({
        issuers: [{ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, tenants: ['acme'], jwksFile: 'jwks.json' }],
      }),
    );
  });

  it('trusts the declared issuers, resolving key files next to the issuers file', async () => {
    const issuers = loadTrustedIssuers({ file, production: true });
    const { payload, issuer } = await issuers.verify(
      await signTestToken(signer.privateKey, {}, { kid: 'k1' }),
      Date.now(),
    );
    expect(payload.tenant).toBe('acme');
    expect(issuer).toMatchObject({ issuer: TEST_ISSUER, tenants: ['acme'] });
  });

  it('trusts the development issuer alongside, outside production', async () => {
    const dev = await key('dev-1');
    const issuers = loadTrustedIssuers({
      file,
      production: false,
      devIssuer: { issuer: 'tollgate-dev', audience: 'tollgate', jwks: { keys: [dev.publicJwk] } },
    });
    const token = await signTestToken(
      dev.privateKey,
      { iss: 'tollgate-dev', aud: 'tollgate', tenant: 'globex' },
      { kid: 'dev-1' },
    );
    await expect(issuers.verify(token, Date.now())).resolves.toMatchObject({
      issuer: { issuer: 'tollgate-dev', tenants: '*' },
    });
  });

  it('refuses the development issuer in production', () => {
    expect(
      problemsOf(() =>
        loadTrustedIssuers({
          file,
          production: true,
          devIssuer: { issuer: 'tollgate-dev', audience: 'tollgate', jwks: { keys: [] } },
        }),
      ),
    ).toEqual(['the development JWT keys are refused in production']);
  });

  it('refuses a declared issuer that impersonates the development issuer', () => {
    const impostor = join(dir, 'impostor.json');
    writeFileSync(
      impostor,
      JSON.stringify({
        issuers: [{ issuer: 'tollgate-dev', audience: 'tollgate', tenants: '*', jwksFile: 'jwks.json' }],
      }),
    );
    expect(
      problemsOf(() =>
        loadTrustedIssuers({
          file: impostor,
          production: false,
          devIssuer: { issuer: 'tollgate-dev', audience: 'tollgate', jwks: { keys: [signer.publicJwk] } },
        }),
      ),
    ).toEqual(['issuer tollgate-dev is the development issuer and cannot be declared outside production']);
  });

  it("accepts access tokens only: typ at+jwt (or application/at+jwt), not an ID token's JWT or none", async () => {
    const issuers = loadTrustedIssuers({ file, production: true });
    const sign = (typ: string | undefined) => signTestToken(signer.privateKey, {}, { kid: 'k1', typ });
    await expect(issuers.verify(await sign('at+jwt'), Date.now())).resolves.toBeDefined();
    await expect(issuers.verify(await sign('application/AT+JWT'), Date.now())).resolves.toBeDefined();
    for (const typ of ['JWT', 'id+jwt', 'at+jwt-ish', undefined])
      expect(await refusal(issuers, await sign(typ))).toBe('typ');
  });

  it('accepts the typ values an issuer declares instead, for IdPs that do not type their access tokens', async () => {
    const typed = join(dir, 'typed.json');
    const entry = {
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      tenants: ['acme'],
      jwksFile: 'jwks.json',
      tokenTypes: ['at+jwt', 'JWT'],
    };
    writeFileSync(typed, JSON.stringify({ issuers: [entry] }));
    const issuers = loadTrustedIssuers({ file: typed, production: true });
    const sign = (typ: string | undefined) => signTestToken(signer.privateKey, {}, { kid: 'k1', typ });
    await expect(issuers.verify(await sign('JWT'), Date.now())).resolves.toBeDefined();
    await expect(issuers.verify(await sign('at+jwt'), Date.now())).resolves.toBeDefined();
    expect(await refusal(issuers, await sign(undefined))).toBe('typ');
    const bad = {
      issuers: [
        { ...entry, tokenTypes: [] },
        { ...entry, issuer: 'https://other.test', tokenTypes: ['x'.repeat(65)] },
      ],
    };
    expect(problemsOf(() => parseTrustedIssuers(bad, { production: true, baseDir: dir }))).toEqual([
      'issuers[0].tokenTypes must be a non-empty list of "typ" values such as "at+jwt"',
      'issuers[1].tokenTypes must be a non-empty list of "typ" values such as "at+jwt"',
    ]);
  });

  it('refuses to start with no issuer, or an unreadable file', () => {
    expect(problemsOf(() => loadTrustedIssuers({ file: undefined, production: false }))).toEqual([
      'no issuer is trusted: set TRUSTED_ISSUERS_FILE',
    ]);
    expect(problemsOf(() => loadTrustedIssuers({ file: join(dir, 'missing.json'), production: true }))).toEqual([
      'TRUSTED_ISSUERS_FILE cannot be read as JSON',
    ]);
  });
});

describe('a key set fetched from a URL', () => {
  let server: Server;
  let served: JWK[];
  let fetches: number;
  let issuers: TrustedIssuers;
  let first: Key;

  beforeAll(async () => {
    first = await key('first');
    served = [first.publicJwk];
    fetches = 0;
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
    issuers = loadTrustedIssuers({
      file: writeIssuers(url),
      production: false,
      remote: { cooldownMs: 300, cacheMaxAgeMs: 60_000, timeoutMs: 1_000 },
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function writeIssuers(url: URL): string {
    const path = join(dir, 'remote-issuers.json');
    writeFileSync(
      path,
      JSON.stringify({ issuers: [{ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, tenants: '*', jwksUrl: url.href }] }),
    );
    return path;
  }

  it('is fetched once and then answered from the cache', async () => {
    for (let i = 0; i < 3; i++)
      await issuers.verify(await signTestToken(first.privateKey, {}, { kid: 'first' }), Date.now());
    expect(fetches).toBe(1);
  });

  it('is refetched for an unknown kid, at most once per cooldown', async () => {
    await new Promise((resolve) => setTimeout(resolve, 350));
    const rotated = await key('rotated');
    served = [first.publicJwk, rotated.publicJwk];
    const before = fetches;
    const strangers = await Promise.all(
      Array.from({ length: 5 }, async (_, i) =>
        refusal(issuers, await signTestToken(rotated.privateKey, {}, { kid: `made-up-${i}` })),
      ),
    );
    expect(strangers).toEqual(Array(5).fill('ERR_JWKS_NO_MATCHING_KEY'));
    expect(fetches).toBe(before + 1);
    // The IdP's new key, seen by the refetch above.
    await expect(
      issuers.verify(await signTestToken(rotated.privateKey, {}, { kid: 'rotated' }), Date.now()),
    ).resolves.toBeDefined();
    expect(fetches).toBe(before + 1);
  });

  it('answers "unavailable", not "invalid token", when the key set cannot be fetched', async () => {
    const dead = loadTrustedIssuers({ file: writeIssuers(new URL('http://127.0.0.1:9/jwks.json')), production: false });
    const error = await dead
      .verify(await signTestToken(first.privateKey, {}, { kid: 'first' }), Date.now())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
  });
});
