/**
 * GET on /graphql over real HTTP (the test platform): persisted queries by id in the query string as Apollo Client
 * sends them (`useGETForHashedQueries`), for frontends (APQ) and partners (their manifest), with Apollo's CSRF
 * prevention kept, query text refused, the query string's JSON bounded like a body's, and every answer `no-store`.
 * Mutations by GET are refused on the real subgraphs in test/e2e/get-mutations.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { operationId } from '../persisted/manifest';
import { testManifest } from '../testing/manifests';
import { ACME_ORIGIN, startTestPlatform, type GraphQLHttpResult, type TestPlatform } from '../testing/platform';

const PRODUCTS = 'query Products {\n  products {\n    id\n    name\n  }\n}';
/** Unique per run: APQ lives in the shared Redis for a day, and the first test needs a hash nobody registered yet. */
const GREET = `query Greet($role: Role!) {\n  greet_${randomBytes(6).toString('hex')}: greet(role: $role)\n}`;
const WHO = 'query Who {\n  whoami {\n    tenant\n  }\n}';
/** What Apollo Client Web sends with every request, GET included (it satisfies CSRF prevention). */
const APOLLO_CLIENT_HEADERS = { 'content-type': 'application/json' };

const extensionsFor = (body: string) =>
  JSON.stringify({ persistedQuery: { version: 1, sha256Hash: operationId(body) } });

function search(params: Record<string, string>): string {
  return `?${new URLSearchParams(params).toString()}`;
}

function subgraphRequests(platform: TestPlatform): number {
  return Object.values(platform.subgraphs).reduce((n, s) => n + s.requests.length, 0);
}

describe('GET for persisted queries', () => {
  let platform: TestPlatform;
  let token: string;
  let partnerKey: string;

  beforeAll(async () => {
    platform = await startTestPlatform();
    token = await platform.issuer.sign();
    await platform.controlPlane.manifests.publish(
      'acme',
      'acme-get-erp',
      testManifest(platform.config.supergraphPath, PRODUCTS),
    );
    ({ key: partnerKey } = await platform.issueApiKey({
      tenantId: 'acme',
      clientName: 'Acme GET ERP',
      scopes: ['catalog:read'],
      manifest: 'acme-get-erp',
      expiresAt: new Date(Date.now() + 86_400_000),
    }));
  });

  afterAll(async () => {
    await platform?.stop();
  });

  beforeEach(() => {
    for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
  });

  async function get(
    query: string,
    headers: Record<string, string> = { ...APOLLO_CLIENT_HEADERS, authorization: `Bearer ${token}` },
  ): Promise<GraphQLHttpResult> {
    const res = await fetch(`${platform.gateway.url}/graphql${query}`, { headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: JSON.parse(text) as GraphQLHttpResult['body'], text };
  }

  function expectRefused(res: GraphQLHttpResult, status: number, code: string): void {
    expect({ status: res.status, codes: res.body.errors?.map((e) => e.extensions?.code), data: res.body.data }).toEqual(
      { status, codes: [code], data: undefined },
    );
    expect(subgraphRequests(platform)).toBe(0);
  }

  describe('frontends (APQ)', () => {
    it('answer an unknown hash PERSISTED_QUERY_NOT_FOUND, then run it by GET once registered by POST, never cacheable', async () => {
      const params = search({
        operationName: 'Greet',
        variables: JSON.stringify({ role: 'ADMIN' }),
        extensions: extensionsFor(GREET),
      });
      const before = await get(params);
      expect(before.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect(subgraphRequests(platform)).toBe(0);

      const registered = await platform.graphql({
        query: GREET,
        variables: { role: 'ADMIN' },
        extensions: JSON.parse(extensionsFor(GREET)) as unknown,
      });
      expect(registered.status).toBe(200);

      const res = await get(params);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual(registered.body.data);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('ratelimit')).toMatch(/^"budget";r=\d+;t=\d+$/);
      const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'));
      expect(line).toMatchObject({ method: 'GET', status: 200, tenant: 'acme', operationName: 'Greet' });
    });

    it('pass CSRF prevention with apollo-require-preflight instead of a content type', async () => {
      await platform.graphql({ query: WHO, extensions: JSON.parse(extensionsFor(WHO)) as unknown });
      const res = await get(search({ extensions: extensionsFor(WHO) }), {
        authorization: `Bearer ${token}`,
        'apollo-require-preflight': 'true',
      });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ whoami: { tenant: 'acme' } });
    });
  });

  describe('partners (API keys)', () => {
    it('run an operation of their manifest by hash or by documentId', async () => {
      for (const params of [
        search({ extensions: extensionsFor(PRODUCTS) }),
        search({ documentId: `sha256:${operationId(PRODUCTS)}` }),
      ]) {
        const res = await get(params, { ...APOLLO_CLIENT_HEADERS, 'x-api-key': partnerKey });
        expect(res.status).toBe(200);
        expect(res.body.data?.products).toHaveLength(2);
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('may not run an id outside their manifest', async () => {
      expectRefused(
        await get(search({ extensions: extensionsFor(WHO) }), { ...APOLLO_CLIENT_HEADERS, 'x-api-key': partnerKey }),
        400,
        'PERSISTED_QUERY_NOT_IN_LIST',
      );
    });
  });

  describe('refusals', () => {
    it('refuses a GET that could be a cross-site request forgery (no preflight forced), before authentication', async () => {
      const res = await get(search({ extensions: extensionsFor(WHO) }), { authorization: `Bearer ${token}` });
      expectRefused(res, 400, 'BAD_REQUEST');
      expect(res.body.errors?.[0]?.message).toMatch(/cross-site request forgery.*apollo-require-preflight/);
      const empty = await get(search({ extensions: extensionsFor(WHO) }), {
        authorization: `Bearer ${token}`,
        'apollo-require-preflight': '',
      });
      expectRefused(empty, 400, 'BAD_REQUEST');
      // Before authentication: no credential at all gets the same answer, not 401.
      expectRefused(await get(search({ extensions: extensionsFor(WHO) }), {}), 400, 'BAD_REQUEST');
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'])(
      'refuses a GET with content-type %s with 415',
      async (type) => {
        const res = await get(search({ extensions: extensionsFor(WHO) }), {
          authorization: `Bearer ${token}`,
          'content-type': type,
        });
        expectRefused(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      },
    );

    it('refuses query text by GET, also as an APQ registration, and stores nothing', async () => {
      const text = 'query NotByGet { whoami { principal } }';
      expectRefused(await get(search({ query: text })), 400, 'PERSISTED_QUERY_ID_REQUIRED');
      expectRefused(
        await get(search({ query: text, extensions: extensionsFor(text) })),
        400,
        'PERSISTED_QUERY_ID_REQUIRED',
      );
      expect((await get(search({ extensions: extensionsFor(text) }))).body.errors?.[0]?.extensions?.code).toBe(
        'PERSISTED_QUERY_NOT_FOUND',
      );
    });

    it.each([
      ['no id at all', search({ operationName: 'Who' }), 400, 'PERSISTED_QUERY_ID_REQUIRED'],
      ['variables that are not JSON', search({ extensions: extensionsFor(WHO), variables: '{' }), 400, 'BAD_REQUEST'],
      ['variables that are a list', search({ extensions: extensionsFor(WHO), variables: '[1]' }), 400, 'BAD_REQUEST'],
      [
        'extensions given twice',
        `${search({ extensions: extensionsFor(WHO) })}&extensions=${encodeURIComponent(extensionsFor(WHO))}`,
        400,
        'BAD_REQUEST',
      ],
      [
        'a malformed hash',
        search({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: 'abc' } }) }),
        400,
        'BAD_REQUEST',
      ],
      [
        'variables nested past MAX_JSON_DEPTH',
        search({ extensions: extensionsFor(WHO), variables: `{"a":${'['.repeat(100)}${']'.repeat(100)}}` }),
        400,
        'BAD_USER_INPUT',
      ],
    ] as const)('refuses %s', async (_label, params, status, code) => {
      expectRefused(await get(params), status, code);
    });

    it('still refuses a credential in the URL', async () => {
      const res = await get(`${search({ extensions: extensionsFor(WHO) })}&api_key=${encodeURIComponent(partnerKey)}`, {
        ...APOLLO_CLIENT_HEADERS,
        'x-api-key': partnerKey,
      });
      expectRefused(res, 401, 'UNAUTHENTICATED');
    });

    it("counts the query string against the plan's body limit (413)", async () => {
      await platform.controlPlane.tenants.updatePlan('free', { limits: { maxBodyBytes: 4_096 } });
      const globexHeaders = {
        ...APOLLO_CLIENT_HEADERS,
        authorization: `Bearer ${await platform.issuer.sign({ tenant: 'globex' })}`,
      };
      const params = search({ extensions: extensionsFor(WHO), variables: JSON.stringify({ pad: 'x'.repeat(6_000) }) });
      // The gateway hears of the plan change through Redis.
      let res = await get(params, globexHeaders);
      for (let waited = 0; res.status !== 413 && waited < 10_000; waited += 200) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
        res = await get(params, globexHeaders);
      }
      expectRefused(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('answers other methods 405 with Allow: GET, POST', async () => {
      const res = await fetch(`${platform.gateway.url}/graphql`, {
        method: 'PUT',
        headers: APOLLO_CLIENT_HEADERS,
        body: '{}',
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST');
      expect(((await res.json()) as GraphQLHttpResult['body']).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    });

    it('answers a GET preflight from a tenant origin, and a PUT preflight 403', async () => {
      const preflight = (method: string) =>
        fetch(`${platform.gateway.url}/graphql`, {
          method: 'OPTIONS',
          headers: {
            origin: ACME_ORIGIN,
            'access-control-request-method': method,
            'access-control-request-headers': 'content-type, authorization',
          },
        });
      const ok = await preflight('GET');
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-methods')).toBe('GET, POST');
      expect((await preflight('PUT')).status).toBe(403);
    });
  });
});
