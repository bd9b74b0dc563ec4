/**
 * Who is calling, for which tenant, over real HTTP: the test platform's gateway with its own control plane (acme on
 * pro with one web origin, globex on free), a platform issuer trusted for every tenant and a tenant issuer trusted
 * for acme only. Every refusal is checked for its exact status, code and body.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import { apiKeyStatus } from './credentials/api-keys';
import { byId, testManifest } from './testing/manifests';
import { signTestToken, TEST_AUDIENCE, TEST_ISSUER, TEST_KID } from './testing/jwt';
import { ACME_ORIGIN, startTestPlatform, type GraphQLHttpResult, type TestPlatform } from './testing/platform';

const WHOAMI = { query: 'query Who { whoami { tenant principal roles } }' };
/** What a partner sends: API keys run persisted operations only (persisted.test.ts). */
const WHOAMI_BY_ID = byId(WHOAMI.query);
const UNAUTHENTICATED_BODY = {
  errors: [{ message: 'Missing or invalid credentials', extensions: { code: 'UNAUTHENTICATED' } }],
};
const ACME_IDP = 'https://login.acme.example';
const DAY = 86_400_000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

function expectUnauthenticated(res: GraphQLHttpResult): void {
  expect(res.status).toBe(401);
  expect(res.body).toEqual(UNAUTHENTICATED_BODY);
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
}

function expectForbidden(res: GraphQLHttpResult, reason: string): void {
  expect(res.status).toBe(403);
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason });
  expect(res.body.data).toBeUndefined();
}

function subgraphRequests(platform: TestPlatform): number {
  return Object.values(platform.subgraphs).reduce((n, s) => n + s.requests.length, 0);
}

describe('identity over HTTP', () => {
  let platform: TestPlatform;
  let acmeIdpKey: CryptoKey;

  beforeAll(async () => {
    const acmeIdp = await generateKeyPair('ES256', { extractable: true });
    acmeIdpKey = acmeIdp.privateKey;
    const jwksFile = join(mkdtempSync(join(tmpdir(), 'tollgate-identity-test-')), 'acme-jwks.json');
    writeFileSync(
      jwksFile,
      JSON.stringify({ keys: [{ ...(await exportJWK(acmeIdp.publicKey)), kid: 'acme-1', alg: 'ES256' }] }),
    );
    platform = await startTestPlatform(
      {},
      { issuers: [{ issuer: ACME_IDP, audience: 'acme-shop', tenants: ['acme'], jwksFile }] },
    );
  });

  afterAll(async () => {
    await platform?.stop();
  });

  beforeEach(() => {
    for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
  });

  describe('JWTs', () => {
    it('serves a valid token for its tenant', async () => {
      const res = await platform.graphql(WHOAMI, {
        token: await platform.issuer.sign({ tenant: 'globex', sub: 'u-9', roles: ['staff'] }),
      });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ whoami: { tenant: 'globex', principal: 'u-9', roles: ['staff'] } });
    });

    it("serves a tenant IdP's token for its own tenant", async () => {
      const token = await signTestToken(acmeIdpKey, { iss: ACME_IDP, aud: 'acme-shop' }, { kid: 'acme-1' });
      const res = await platform.graphql(WHOAMI, { token });
      expect(res.status).toBe(200);
      expect(res.body.data?.whoami).toMatchObject({ tenant: 'acme' });
    });

    const unsigned = (alg: string) =>
      `${base64url.encode(JSON.stringify({ alg, typ: 'JWT' }))}.${base64url.encode(
        JSON.stringify({
          iss: TEST_ISSUER,
          aud: TEST_AUDIENCE,
          sub: 'u',
          tenant: 'acme',
          roles: ['admin'],
          exp: nowSeconds() + 600,
        }),
      )}.`;

    it.each<[string, (p: TestPlatform) => Promise<string | null>]>([
      ['no token', async () => null],
      ['a malformed token', async () => 'not-a-jwt'],
      ['alg none', async () => unsigned('none')],
      ['alg None', async () => unsigned('None')],
      ['alg NONE', async () => unsigned('NONE')],
      [
        "HS256 signed with the issuer's public key",
        async (p) => {
          const publicKey = (await importJWK(p.issuer.jwks.keys[0]!, 'ES256')) as CryptoKey;
          const secret = new TextEncoder().encode(await exportSPKI(publicKey));
          return new SignJWT({ sub: 'u', tenant: 'acme', roles: ['admin'] })
            .setProtectedHeader({ alg: 'HS256', kid: TEST_KID })
            .setIssuer(TEST_ISSUER)
            .setAudience(TEST_AUDIENCE)
            .setExpirationTime('1h')
            .sign(secret);
        },
      ],
      ['an expired token', (p) => p.issuer.sign({ exp: nowSeconds() - 3_600 })],
      ['a token not yet valid', (p) => p.issuer.sign({ nbf: nowSeconds() + 3_600 })],
      ['a token issued in the future', (p) => p.issuer.sign({ iat: nowSeconds() + 3_600 })],
      ['a token without exp', (p) => p.issuer.sign({ exp: undefined })],
      ['a token from an untrusted issuer', (p) => p.issuer.sign({ iss: 'https://evil.example' })],
      ['a token for another audience', (p) => p.issuer.sign({ aud: 'another-api' })],
      ['a token with an unknown kid', (p) => p.issuer.sign({}, { kid: 'unknown-kid' })],
      ['a token with a jku header', (p) => p.issuer.sign({}, { jku: 'https://evil.example/jwks.json' })],
      ['a token with an x5u header', (p) => p.issuer.sign({}, { x5u: 'https://evil.example/cert.pem' })],
      ['a token carrying its own jwk', async (p) => p.issuer.sign({}, { jwk: p.issuer.jwks.keys[0] })],
      ['an ID token (typ JWT) presented as an access token', (p) => p.issuer.sign({}, { typ: 'JWT' })],
      ['a token without typ', (p) => p.issuer.sign({}, { typ: undefined })],
      ['a missing tenant claim', (p) => p.issuer.sign({ tenant: undefined })],
      ['an empty tenant claim', (p) => p.issuer.sign({ tenant: '' })],
      ['a list of tenants', (p) => p.issuer.sign({ tenant: ['acme', 'globex'] })],
      ['a wildcard tenant', (p) => p.issuer.sign({ tenant: '*' })],
      ['an object tenant', (p) => p.issuer.sign({ tenant: { $ne: null } })],
      [
        'a tenant its issuer may not speak for',
        async () => signTestToken(acmeIdpKey, { iss: ACME_IDP, aud: 'acme-shop', tenant: 'globex' }, { kid: 'acme-1' }),
      ],
    ])('refuses %s with 401 UNAUTHENTICATED, before any subgraph', async (_label, make) => {
      const res = await platform.graphql(WHOAMI, { token: await make(platform) });
      expectUnauthenticated(res);
      expect(subgraphRequests(platform)).toBe(0);
    });
  });

  describe('the tenant', () => {
    it('refuses a suspended tenant with 403 FORBIDDEN TENANT_SUSPENDED, cached token or not, and serves it again once resumed', async () => {
      const token = await platform.issuer.sign({ tenant: 'globex' });
      expect((await platform.graphql(WHOAMI, { token })).status).toBe(200);
      const served = subgraphRequests(platform);
      await platform.controlPlane.tenants.suspendTenant('globex');
      try {
        const refused = await platform.graphql(WHOAMI, { token });
        expectForbidden(refused, 'TENANT_SUSPENDED');
        expect(refused.body.errors?.[0]?.message).toBe('This tenant is suspended.');
        const line = platform.logs.find(
          (l) => l.msg === 'request' && l.requestId === refused.headers.get('x-request-id'),
        );
        expect(line).toMatchObject({
          level: 'info',
          status: 403,
          tenant: 'globex',
          principal: 'user-1',
          errorCodes: ['FORBIDDEN'],
          reason: 'TENANT_SUSPENDED',
        });
        expect(subgraphRequests(platform)).toBe(served);
        // Another tenant is served as usual meanwhile.
        expect((await platform.graphql(WHOAMI)).status).toBe(200);
      } finally {
        await platform.controlPlane.tenants.resumeTenant('globex');
      }
      expect((await platform.graphql(WHOAMI, { token })).status).toBe(200);
    });

    it('refuses a tenant the registry does not have with 403 FORBIDDEN TENANT_UNKNOWN', async () => {
      expectForbidden(
        await platform.graphql(WHOAMI, { token: await platform.issuer.sign({ tenant: 'initech' }) }),
        'TENANT_UNKNOWN',
      );
    });

    it('takes the tenant from the credential: a conflicting x-tenant-id is 403 FORBIDDEN', async () => {
      expectForbidden(await platform.graphql(WHOAMI, { headers: { 'x-tenant-id': 'globex' } }), 'TENANT_MISMATCH');
      const agreeing = await platform.graphql(WHOAMI, { headers: { 'x-tenant-id': 'acme' } });
      expect(agreeing.status).toBe(200);
      expect(subgraphRequests(platform)).toBe(1);
    });

    it('logs the refusal with the tenant, the principal and the reason', async () => {
      const res = await platform.graphql(WHOAMI, { headers: { 'x-tenant-id': 'globex' } });
      const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'));
      expect(line).toMatchObject({
        status: 403,
        tenant: 'acme',
        principal: 'user-1',
        errorCodes: ['FORBIDDEN'],
        reason: 'TENANT_MISMATCH',
      });
    });
  });

  describe('API keys', () => {
    beforeAll(async () => {
      await platform.controlPlane.manifests.publish(
        'globex',
        'wms-v1',
        testManifest(platform.config.supergraphPath, WHOAMI.query),
      );
    });

    const issue = (overrides: { expiresAt?: Date } = {}) =>
      platform.issueApiKey({
        tenantId: 'globex',
        clientName: 'Globex WMS',
        scopes: ['inventory:read'],
        manifest: 'wms-v1',
        expiresAt: overrides.expiresAt ?? new Date(Date.now() + 30 * DAY),
      });

    it.each([['X-Api-Key'], ['Authorization: ApiKey']])(
      'serves a partner by %s, as key:<id> with no roles',
      async (how) => {
        const { key, record } = await issue();
        const res =
          how === 'X-Api-Key'
            ? await platform.graphql(WHOAMI_BY_ID, { apiKey: key })
            : await platform.graphql(WHOAMI_BY_ID, { token: null, headers: { authorization: `ApiKey ${key}` } });
        expect(res.status).toBe(200);
        expect(res.body.data).toEqual({ whoami: { tenant: 'globex', principal: `key:${record.id}`, roles: [] } });
      },
    );

    it('answers unknown, revoked, expired and rotated-out keys with one and the same 401', async () => {
      const unknown = `tg_live_${'Q'.repeat(12)}_${'q'.repeat(40)}`;
      const revoked = await issue();
      await platform.controlPlane.apiKeys.revoke(revoked.record.id);
      const expired = await issue({ expiresAt: new Date(Date.now() + 1_000) });
      const rotated = await issue();
      const { issued: replacement } = await platform.controlPlane.apiKeys.rotate(rotated.record.id, { overlapMs: 0 });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(apiKeyStatus((await platform.controlPlane.apiKeys.get(expired.record.id))!, Date.now())).toBe('expired');

      const missing = await platform.graphql(WHOAMI, { token: null });
      const answers = await Promise.all(
        [unknown, revoked.key, expired.key, rotated.key].map((apiKey) => platform.graphql(WHOAMI_BY_ID, { apiKey })),
      );
      for (const res of answers) {
        expectUnauthenticated(res);
        expect(res.text).toBe(missing.text);
      }
      const reasons = answers.map(
        (res) =>
          platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'))?.reason,
      );
      expect(reasons).toEqual(['api-key:unknown', 'api-key:revoked', 'api-key:expired', 'api-key:rotated-out']);
      expect((await platform.graphql(WHOAMI_BY_ID, { apiKey: replacement.key })).status).toBe(200);
      expect(subgraphRequests(platform)).toBe(1);
    });

    it('keeps a rotated key working during its overlap, next to its replacement', async () => {
      const old = await issue();
      const { issued } = await platform.controlPlane.apiKeys.rotate(old.record.id, { overlapMs: 3_600_000 });
      expect((await platform.graphql(WHOAMI_BY_ID, { apiKey: old.key })).status).toBe(200);
      expect((await platform.graphql(WHOAMI_BY_ID, { apiKey: issued.key })).status).toBe(200);
    });

    it('refuses a revoked key at once, even right after it was served', async () => {
      const { key, record } = await issue();
      expect((await platform.graphql(WHOAMI_BY_ID, { apiKey: key })).status).toBe(200);
      await platform.controlPlane.apiKeys.revoke(record.id);
      const started = Date.now();
      let res = await platform.graphql(WHOAMI_BY_ID, { apiKey: key });
      while (res.status === 200 && Date.now() - started < 5_000)
        res = await platform.graphql(WHOAMI_BY_ID, { apiKey: key });
      expectUnauthenticated(res);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('refuses a key in the query string with 401, even next to a valid key, and never logs it', async () => {
      const { key } = await issue();
      for (const query of [`?api_key=${key}`, `?x=${encodeURIComponent(key)}`, `?token=anything`]) {
        const res = await platform.graphql(WHOAMI_BY_ID, { apiKey: key, query });
        expectUnauthenticated(res);
        const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'));
        expect(line).toMatchObject({ status: 401, reason: 'credentials-in-url' });
      }
      expect(subgraphRequests(platform)).toBe(0);
      expect(JSON.stringify(platform.logs)).not.toContain(key.slice(8));
    });

    it('refuses a key and a token at once', async () => {
      const { key } = await issue();
      expectUnauthenticated(await platform.graphql(WHOAMI, { headers: { 'x-api-key': key } }));
    });

    it("refuses a key of a suspended tenant with the tenant's 403", async () => {
      const { key } = await issue();
      await platform.controlPlane.tenants.suspendTenant('globex');
      try {
        expectForbidden(await platform.graphql(WHOAMI_BY_ID, { apiKey: key }), 'TENANT_SUSPENDED');
      } finally {
        await platform.controlPlane.tenants.resumeTenant('globex');
      }
    });
  });

  describe('browser frontends', () => {
    const preflight = (origin: string, method = 'POST') =>
      fetch(`${platform.gateway.url}/graphql`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': method,
          'access-control-request-headers': 'authorization, content-type',
        },
      });

    it("answers a preflight from a tenant's origin, cached for ten minutes, without credentials or a wildcard", async () => {
      const res = await preflight(ACME_ORIGIN);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ACME_ORIGIN);
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST');
      expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(res.headers.get('access-control-allow-headers')).not.toContain('x-api-key');
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toContain('Origin');
    });

    it.each([
      ['an origin no tenant allowed', 'https://evil.example', 'POST'],
      ['the null origin', 'null', 'POST'],
      ["a tenant's origin, for another method", ACME_ORIGIN, 'PUT'],
    ])('gives a preflight from %s no CORS headers and 403', async (_label, origin, method) => {
      const res = await preflight(origin, method);
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('stops answering the origins of a suspended tenant', async () => {
      await platform.controlPlane.tenants.updateTenant('globex', { origins: ['https://globex.test'] });
      expect((await preflight('https://globex.test')).headers.get('access-control-allow-origin')).toBe(
        'https://globex.test',
      );
      await platform.controlPlane.tenants.suspendTenant('globex');
      try {
        expect((await preflight('https://globex.test')).headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await platform.controlPlane.tenants.updateTenant('globex', { status: 'active', origins: [] });
      }
    });

    it("serves a page of the tenant's own origin, and lets it read a 401", async () => {
      const ok = await platform.graphql(WHOAMI, { headers: { origin: ACME_ORIGIN } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe(ACME_ORIGIN);
      const refused = await platform.graphql(WHOAMI, { token: null, headers: { origin: ACME_ORIGIN } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(ACME_ORIGIN);
    });

    it("refuses a page of another tenant's origin with 403 FORBIDDEN ORIGIN_NOT_ALLOWED", async () => {
      const token = await platform.issuer.sign({ tenant: 'globex' });
      expectForbidden(
        await platform.graphql(WHOAMI, { token, headers: { origin: ACME_ORIGIN } }),
        'ORIGIN_NOT_ALLOWED',
      );
      expect(subgraphRequests(platform)).toBe(0);
    });

    it('refuses a page of an origin no tenant allows, and gives it no CORS headers', async () => {
      const res = await platform.graphql(WHOAMI, { headers: { origin: 'https://evil.example' } });
      expectForbidden(res, 'ORIGIN_NOT_ALLOWED');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
