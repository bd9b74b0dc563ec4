/**
 * The gateway over real HTTP: throwaway subgraphs that verify the internal token and record what they receive,
 * a test issuer, a short subgraph timeout.
 */
import { verifyInternalToken, deriveSubgraphKey, INTERNAL_TOKEN_HEADER } from '../../common/internal-token';
import { createLogger } from '../../common/logger';
import { startGateway } from './server';
import { TEST_SUBGRAPH_TIMEOUT_MS, startTestPlatform, type TestPlatform } from './testing/platform';
import { fixtureAuthorization } from './testing/fixtures';

const WHOAMI = { query: 'query Who { whoami { tenant principal roles audience kind } }' };
const PRODUCTS_WITH_STOCK = { query: 'query Stock { products { id name inStock } }' };

function subgraphRequestCount(platform: TestPlatform): number {
  return Object.values(platform.subgraphs).reduce((n, s) => n + s.requests.length, 0);
}

function clearRequests(platform: TestPlatform): void {
  for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
}

/** What a client must never see in any error body. */
function expectNoInternals(platform: TestPlatform, text: string): void {
  for (const subgraph of Object.values(platform.subgraphs)) expect(text).not.toContain(subgraph.url);
  expect(text).not.toMatch(
    /127\.0\.0\.1|10\.1\.2\.3|mongodb|serviceName|stacktrace|exception|"response"|ECONNREFUSED|inventory|accounts/,
  );
}

describe('gateway over HTTP', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });
  beforeEach(() => clearRequests(platform));

  describe('authentication', () => {
    it.each([
      ['no authorization header', null],
      ['a malformed token', 'not-a-jwt'],
      ['a token signed by another key', 'eyJhbGciOiJFUzI1NiJ9.eyJ0ZW5hbnQiOiJhY21lIn0.c2lnbmF0dXJl'],
    ])('refuses %s with 401 UNAUTHENTICATED and reaches no subgraph', async (_label, token) => {
      const res = await platform.graphql(WHOAMI, { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('etag')).toBeNull();
      expect(res.body).toEqual({
        errors: [{ message: 'Missing or invalid credentials', extensions: { code: 'UNAUTHENTICATED' } }],
      });
      expect(subgraphRequestCount(platform)).toBe(0);
    });

    it('answers an expired token exactly like a missing one', async () => {
      const expired = await platform.issuer.sign({ exp: Math.floor(Date.now() / 1000) - 3600 });
      const [a, b] = await Promise.all([
        platform.graphql(WHOAMI, { token: expired }),
        platform.graphql(WHOAMI, { token: null }),
      ]);
      expect(a.status).toBe(401);
      expect(a.text).toBe(b.text);
      expect(subgraphRequestCount(platform)).toBe(0);
    });

    it('authenticates before looking at the body', async () => {
      const res = await platform.graphql('{not json', { token: null });
      expect(res.status).toBe(401);
    });

    it('logs the refusal with its reason and request id, never the token', async () => {
      const token = await platform.issuer.sign({ tenant: 'Not A Tenant' });
      const res = await platform.graphql(WHOAMI, { token });
      expect(res.status).toBe(401);
      const requestId = res.headers.get('x-request-id');
      const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === requestId);
      expect(line).toMatchObject({
        status: 401,
        errorCodes: ['UNAUTHENTICATED'],
        reason: 'bad-tenant-claim',
        level: 'info',
      });
      expect(JSON.stringify(platform.logs)).not.toContain(token);
    });
  });

  describe('the internal context sent to subgraphs', () => {
    it('names the subgraph, the tenant, the principal and the roles, and verifies', async () => {
      const token = await platform.issuer.sign({ tenant: 'globex', sub: 'user-42', roles: ['staff', 'admin'] });
      const res = await platform.graphql(WHOAMI, { token });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({
        whoami: { tenant: 'globex', principal: 'user-42', roles: ['staff', 'admin'], audience: 'accounts', kind: 'op' },
      });
      // The subgraph called its answer public and cacheable; a tenant's response never is.
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('etag')).toBeNull();
      const [request] = platform.subgraphs.accounts.requests;
      expect(request?.tokenError).toBeUndefined();
      expect(request?.claims).toMatchObject({ kind: 'op', aud: 'accounts', ten: 'globex', sub: 'user-42' });
      expect(request?.claims?.rid).toBe(res.headers.get('x-request-id'));
    });

    it('mints one token per subgraph, each valid only for its audience', async () => {
      const res = await platform.graphql(PRODUCTS_WITH_STOCK);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual({
        products: [
          { id: 'p1', name: 'Kettle', inStock: true },
          { id: 'p2', name: 'Teapot', inStock: false },
        ],
      });
      const [productsRequest] = platform.subgraphs.products.requests;
      const [inventoryRequest] = platform.subgraphs.inventory.requests;
      expect(productsRequest?.claims?.aud).toBe('products');
      expect(inventoryRequest?.claims?.aud).toBe('inventory');
      // The products token replayed at inventory is refused: wrong audience, wrong key.
      const secret =
        platform.config.internalSecret.source === 'env' ? platform.config.internalSecret.secret : Buffer.alloc(0);
      const replay = productsRequest?.headers[INTERNAL_TOKEN_HEADER] as string;
      expect(() =>
        verifyInternalToken(replay, {
          key: deriveSubgraphKey(secret, 'inventory'),
          audience: 'inventory',
          query: productsRequest!.query,
        }),
      ).toThrow('bad-signature');
    });

    it('forwards no client header to a subgraph', async () => {
      const res = await platform.graphql(WHOAMI, {
        headers: {
          // Agreeing with the token (a different one is refused: identity.test.ts); still never forwarded.
          'x-tenant-id': 'acme',
          cookie: 'session=stolen',
          'tollgate-context': 'v1.forged.forged',
          'x-internal-tenant': 'evil',
          'x-forwarded-for': '6.6.6.6',
        },
      });
      expect(res.body.data?.whoami).toMatchObject({ tenant: 'acme' });
      const [request] = platform.subgraphs.accounts.requests;
      const headers = request?.headers ?? {};
      expect(headers['x-tenant-id']).toBeUndefined();
      expect(headers.cookie).toBeUndefined();
      expect(headers.authorization).toBeUndefined();
      expect(headers['x-internal-tenant']).toBeUndefined();
      expect(headers['x-forwarded-for']).toBeUndefined();
      expect(headers[INTERNAL_TOKEN_HEADER]).not.toBe('v1.forged.forged');
      expect(request?.claims?.ten).toBe('acme');
    });
  });

  describe('HTTP-level refusals', () => {
    it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await platform.graphql({
        query: `{ whoami { tenant } } # ${'x'.repeat(platform.config.maxBodyBytes)}`,
      });
      expect(res.status).toBe(413);
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'PAYLOAD_TOO_LARGE' });
    });

    it('answers malformed JSON with 400 BAD_REQUEST', async () => {
      const res = await platform.graphql('{"query": "{ whoami { tenant } }"');
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(res.text).not.toMatch(/JSON\.parse|position|Unexpected end/);
    });

    it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x']])(
      'answers a %s body with 415 UNSUPPORTED_MEDIA_TYPE',
      async (contentType) => {
        const res = await platform.graphql(JSON.stringify(WHOAMI), { headers: { 'content-type': contentType } });
        expect(res.status).toBe(415);
        expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      },
    );

    it.each([
      ['a batch', JSON.stringify([WHOAMI, WHOAMI]), 'Batched requests are not supported'],
      ['a number as documentId', '{"documentId": 5}', '"documentId" must be a string'],
      ['a number as query', '{"query": 5}', '"query" must be a string'],
      [
        'a number as operationName',
        '{"query": "query Who { whoami { tenant } }", "operationName": 7}',
        '"operationName" must be a string',
      ],
      [
        'an array as variables',
        '{"query": "{ whoami { tenant } }", "variables": [1]}',
        '"variables" must be a JSON object',
      ],
      [
        'a string as extensions',
        '{"query": "{ whoami { tenant } }", "extensions": "x"}',
        '"extensions" must be a JSON object',
      ],
    ])('refuses %s with 400 BAD_REQUEST, reaches no subgraph and logs the code', async (_label, body, message) => {
      const res = await platform.graphql(body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        { message: expect.stringContaining(message), extensions: { code: 'BAD_REQUEST' } },
      ]);
      expect(subgraphRequestCount(platform)).toBe(0);
      const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'));
      expect(line).toMatchObject({
        status: 400,
        errorCodes: ['BAD_REQUEST'],
        reason: 'malformed-body',
        tenant: 'acme',
      });
    });

    it('allows only GET (persisted queries, http/get-requests.test.ts) and POST on /graphql', async () => {
      const res = await fetch(`${platform.gateway.url}/graphql`, { method: 'DELETE' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST');
      expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
      // A plain GET with query text, as a link or an <img> on another site would send it, runs nothing.
      const get = await fetch(`${platform.gateway.url}/graphql?query=%7Bwhoami%7Btenant%7D%7D`);
      expect(get.status).toBe(400);
      expect(await get.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    });

    it('serves no landing page', async () => {
      const res = await fetch(`${platform.gateway.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(res.headers.get('content-type')).not.toContain('text/html');
    });

    it("logs Apollo Server's own refusals with their code: 406 for an Accept it cannot serve", async () => {
      const res = await platform.graphql(WHOAMI, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(406);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'));
      expect(line).toMatchObject({ status: 406, errorCodes: ['BAD_REQUEST'] });
    });

    it('echoes a well-formed client request id and replaces any other', async () => {
      const echoed = await platform.graphql(WHOAMI, { headers: { 'x-request-id': 'client-abc-12345' } });
      expect(echoed.headers.get('x-request-id')).toBe('client-abc-12345');
      const replaced = await platform.graphql(WHOAMI, { headers: { 'x-request-id': 'bad id; drop' } });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const short = await platform.graphql(WHOAMI, { headers: { 'x-request-id': 'abc' } });
      expect(short.headers.get('x-request-id')).not.toBe('abc');
    });
  });

  describe('GraphQL-level refusals and masking', () => {
    it('refuses introspection', async () => {
      const res = await platform.graphql({ query: '{ __schema { types { name } } }' });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]).toMatchObject({
        message:
          'Introspection needs the developer role, which this credential lacks: ask for a token with the developer role (in development: npm run token -- --tenant <tenant> --user <you> --roles developer).',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
      });
      expect(res.text).not.toContain('ApolloServer');
    });

    it('refuses subscriptions before planning', async () => {
      const res = await platform.graphql({ query: 'subscription { whoami { tenant } }' });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(subgraphRequestCount(platform)).toBe(0);
    });

    it('never returns a query plan, whatever the client asks', async () => {
      const res = await platform.graphql(PRODUCTS_WITH_STOCK, {
        headers: { 'apollo-query-plan-experimental': 'true', 'apollo-query-plan-experimental-format': 'internal' },
      });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.extensions ?? {})).toEqual(['cost']);
      expect(res.text).not.toContain('queryPlan');
    });

    it('gives no "Did you mean" suggestions, in validation or in variable coercion', async () => {
      const field = await platform.graphql({ query: '{ products { nme } }' });
      expect(field.status).toBe(400);
      expect(field.body.errors?.[0]?.message).toBe('Cannot query field "nme" on type "Product".');
      const variable = await platform.graphql({
        query: 'query G($r: Role!) { greet(role: $r) }',
        variables: { r: 'ADMN' },
      });
      expect(variable.status).toBe(400);
      expect(variable.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
      expect(variable.text).not.toMatch(/Did you mean|ADMIN/);
    });

    it('masks subgraph errors: generic text, no stack, no extra extensions, no service name', async () => {
      const res = await platform.graphql({ query: '{ crash leak missing }' });
      expect(res.status).toBe(200);
      expect(res.body.errors).toEqual([
        // A subgraph crash is the subgraph's failure, not the gateway's own INTERNAL_SERVER_ERROR.
        { message: 'A downstream service failed', path: ['crash'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } },
        { message: 'A downstream service failed', path: ['leak'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } },
        { message: 'No such thing', path: ['missing'], extensions: { code: 'NOT_FOUND' } },
      ]);
      expectNoInternals(platform, res.text);
    });

    it('answers a query the planner will not plan with 400, not 500', async () => {
      let fragments = 'fragment F0 on Product { id name }\n';
      for (let i = 1; i <= 24; i++)
        fragments += `fragment F${i} on Product { a: related { ...F${i - 1} } b: related { ...F${i - 1} } }\n`;
      const res = await platform.graphql({ query: `{ products { ...F24 } }\n${fragments}` });
      expect(res.status).toBe(400);
      // The plan's depth limit refuses it first; planner-errors.test.ts covers the planner's own refusal.
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
      expect(subgraphRequestCount(platform)).toBe(0);
    });

    it('refuses an ambiguous document with 400 OPERATION_RESOLUTION_FAILURE', async () => {
      const res = await platform.graphql({ query: 'query A { whoami { tenant } } query B { whoami { tenant } }' });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'OPERATION_RESOLUTION_FAILURE' });
    });
  });

  describe('logging', () => {
    it('writes one line per request with tenant, principal, operation, status, duration and codes', async () => {
      const res = await platform.graphql({ query: 'query Mixed { whoami { tenant } missing }' });
      const requestId = res.headers.get('x-request-id');
      const lines = platform.logs.filter((l) => l.msg === 'request' && l.requestId === requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'info',
        method: 'POST',
        path: '/graphql',
        status: 200,
        tenant: 'acme',
        principal: 'user-1',
        operationName: 'Mixed',
        credential: 'jwt',
        subgraphFetches: 1,
        errorCodes: ['NOT_FOUND'],
      });
      expect(typeof lines[0]?.durationMs).toBe('number');
    });
  });

  describe('health', () => {
    it('is live', async () => {
      const res = await fetch(`${platform.gateway.url}/healthz`);
      expect(res.status).toBe(200);
    });

    it('is ready, and checks subgraphs for the operator with service tokens', async () => {
      const res = await fetch(`${platform.gateway.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ready' });
      // Readiness no longer probes subgraphs (health.ts); the operator's check does, with the same tokens.
      const health = await platform.gateway.subgraphHealth();
      expect(health.subgraphs).toEqual(Object.fromEntries(Object.keys(platform.subgraphs).map((name) => [name, 'up'])));
      for (const subgraph of Object.values(platform.subgraphs)) {
        const check = subgraph.requests.find((r) => r.query.includes('__typename'));
        expect(check?.claims).toMatchObject({ kind: 'svc', aud: subgraph.name, ten: '', sub: '' });
      }
    });

    it('answers unknown paths with 404', async () => {
      const res = await fetch(`${platform.gateway.url}/graphiql`);
      expect(res.status).toBe(404);
    });
  });

  describe('startGateway', () => {
    const quiet = createLogger({ sink: () => undefined });

    it('rejects when the port is taken, and leaves the running gateway alone', async () => {
      await expect(
        startGateway(
          { ...platform.config, port: platform.gateway.port },
          { logger: quiet, authorization: fixtureAuthorization },
        ),
      ).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
      expect((await platform.graphql(WHOAMI)).status).toBe(200);
    });

    it('refuses development secrets in production, even from a hand-built config', async () => {
      await expect(
        startGateway(
          { ...platform.config, production: true, internalSecret: { source: 'dev' } },
          { logger: quiet, authorization: fixtureAuthorization },
        ),
      ).rejects.toThrow('development internal secret is refused in production');
      await expect(
        startGateway(
          { ...platform.config, production: true, jwt: { ...platform.config.jwt, trustDevIssuer: true } },
          { logger: quiet, authorization: fixtureAuthorization },
        ),
      ).rejects.toThrow('development JWT keys are refused in production');
    });
  });
});

describe("the plan's body limit", () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    // The gateway-wide limit is above every plan's, so what refuses here is the caller's plan.
    platform = await startTestPlatform({ maxBodyBytes: 1_048_576 });
  });
  afterAll(async () => {
    await platform.stop();
  });

  it('refuses a body over the plan with 413 PAYLOAD_TOO_LARGE and no subgraph request, and serves a plan that allows it', async () => {
    // 40 KiB: over the free plan's 32 KiB (globex), under the pro plan's 128 KiB (acme).
    const body = JSON.stringify({ query: `{ whoami { tenant } } # ${'x'.repeat(40 * 1024)}` });
    const before = subgraphRequestCount(platform);
    const globex = await platform.graphql(body, { token: await platform.issuer.sign({ tenant: 'globex' }) });
    expect(globex.status).toBe(413);
    expect(globex.body.errors?.map((e) => e.extensions?.code)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(subgraphRequestCount(platform)).toBe(before);
    const acme = await platform.graphql(body);
    expect(acme.status).not.toBe(413);
  });
});

describe('gateway with failing subgraphs', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('turns a hanging subgraph into partial data and SUBGRAPH_TIMEOUT, then serves the next request', async () => {
    platform.subgraphs.inventory.mode = 'hang';
    const started = Date.now();
    const res = await platform.graphql(PRODUCTS_WITH_STOCK);
    expect(Date.now() - started).toBeLessThan(TEST_SUBGRAPH_TIMEOUT_MS + 1_000);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      products: [
        { id: 'p1', name: 'Kettle', inStock: null },
        { id: 'p2', name: 'Teapot', inStock: null },
      ],
    });
    // Each error names a field the failed fetch left null.
    expect(res.body.errors).toEqual([
      {
        message: 'A downstream service timed out',
        path: ['products', 0, 'inStock'],
        extensions: { code: 'SUBGRAPH_TIMEOUT' },
      },
      {
        message: 'A downstream service timed out',
        path: ['products', 1, 'inStock'],
        extensions: { code: 'SUBGRAPH_TIMEOUT' },
      },
    ]);
    expectNoInternals(platform, res.text);

    platform.subgraphs.inventory.mode = 'ok';
    const next = await platform.graphql(PRODUCTS_WITH_STOCK);
    expect(next.body.errors).toBeUndefined();
  });

  it('turns a non-2xx answer into DOWNSTREAM_SERVICE_ERROR without its URL, status or body', async () => {
    platform.subgraphs.inventory.mode = 'http500';
    const res = await platform.graphql(PRODUCTS_WITH_STOCK);
    platform.subgraphs.inventory.mode = 'ok';
    expect(res.status).toBe(200);
    expect(res.body.data?.products).toHaveLength(2);
    expect(res.body.errors).toEqual([
      {
        message: 'A downstream service failed',
        path: ['products', 0, 'inStock'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      },
      {
        message: 'A downstream service failed',
        path: ['products', 1, 'inStock'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      },
    ]);
    expectNoInternals(platform, res.text);
    expect(JSON.stringify(res.body.errors)).not.toContain('500');
  });

  it('turns a stopped subgraph into partial data, stays ready without naming it, and keeps serving', async () => {
    await platform.subgraphs.inventory.stop();
    const res = await platform.graphql(PRODUCTS_WITH_STOCK);
    expect(res.status).toBe(200);
    expect(res.body.data?.products).toEqual([
      { id: 'p1', name: 'Kettle', inStock: null },
      { id: 'p2', name: 'Teapot', inStock: null },
    ]);
    expect(res.body.errors).toEqual([
      {
        message: 'A downstream service failed',
        path: ['products', 0, 'inStock'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      },
      {
        message: 'A downstream service failed',
        path: ['products', 1, 'inStock'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      },
    ]);
    expectNoInternals(platform, res.text);

    // One subgraph down must not take every replica out of the load balancer (issue 15): readiness stays 200, and
    // its body tells the public nothing about subgraphs. The operator sees it in subgraphHealth() and the log.
    const ready = await fetch(`${platform.gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    const text = await ready.text();
    expect(JSON.parse(text)).toEqual({ status: 'ready' });
    expect(text).not.toContain('inventory');
    expect(text).not.toContain('127.0.0.1');
    expect((await platform.gateway.subgraphHealth()).subgraphs).toMatchObject({ inventory: 'down', products: 'up' });

    const other = await platform.graphql(WHOAMI);
    expect(other.status).toBe(200);
    expect(other.body.data?.whoami).toMatchObject({ tenant: 'acme' });
  });
});
