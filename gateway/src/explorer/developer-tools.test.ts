/**
 * The explorer's developer tools over HTTP, against the test platform (fixture subgraphs, explorer on): the estimate
 * and the query plan answer developers only, under /graphql's bounds, from the caller's visible schema, and never
 * reach a subgraph or the budget.
 */
import { startTestPlatform, type TestPlatform } from '../testing/platform';

const DAY = 86_400_000;
const PRODUCTS = '{ products { name inStock } }';
/** Each `related` is a list of the default size (10): 10 + 100 + 1 000 + 10 000 points, over pro's 2 000. */
const EXPENSIVE = '{ products { related { related { related { id } } } } }';

interface Answer {
  status: number;
  body: Record<string, unknown> & { errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

describe('explorer developer tools', () => {
  let platform: TestPlatform;
  let developer: string;

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${platform.gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${developer}`, ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  const subgraphRequests = () => Object.values(platform.subgraphs).reduce((n, s) => n + s.requests.length, 0);

  beforeAll(async () => {
    platform = await startTestPlatform({ explorerEnabled: true });
    developer = await platform.issuer.sign({ roles: ['developer'] });
  });

  afterAll(async () => {
    await platform?.stop();
  });

  beforeEach(() => {
    for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
  });

  it("prices a document with the gateway's estimator for the caller's plan, without executing it", async () => {
    const estimate = await post('/explorer/estimate', { query: PRODUCTS });
    expect(estimate.status).toBe(200);
    expect(estimate.body).toEqual({
      tenant: 'acme',
      plan: 'pro',
      requestedQueryCost: expect.any(Number),
      maximumCost: 2_000,
      overMaximum: false,
      costMode: 'enforce',
      budget: { capacity: 10_000, restoreRate: 500 },
    });
    expect(subgraphRequests()).toBe(0);
    // The same number the cost stage reserves when the document runs.
    const run = await platform.graphql({ query: PRODUCTS }, { token: developer });
    expect((run.body.extensions?.cost as { requestedQueryCost: number }).requestedQueryCost).toBe(
      estimate.body.requestedQueryCost,
    );
  });

  it('says when a document is over the plan maximum, which /graphql refuses', async () => {
    const estimate = await post('/explorer/estimate', { query: EXPENSIVE });
    expect(estimate.status).toBe(200);
    expect(estimate.body).toMatchObject({ requestedQueryCost: 11_110, maximumCost: 2_000, overMaximum: true });
    const run = await platform.graphql({ query: EXPENSIVE }, { token: developer });
    expect(run.body.errors?.[0]?.extensions?.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
    expect(subgraphRequests()).toBe(0);
  });

  it("answers the gateway's query plan, for developers only", async () => {
    const plan = await post('/explorer/plan', { query: PRODUCTS });
    expect(plan.status).toBe(200);
    const text = plan.body.queryPlan as string;
    expect(text).toMatch(/^QueryPlan \{/);
    expect(text).toContain('Fetch(service: "products")');
    expect(text).toContain('Flatten(path: "products.@")');
    expect(text).toContain('Fetch(service: "inventory")');
    expect(subgraphRequests()).toBe(0);
  });

  it('refuses everyone but developers: 401 without a credential, 403 for other roles and API keys', async () => {
    for (const path of ['/explorer/estimate', '/explorer/plan']) {
      const anonymous = await fetch(`${platform.gateway.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: PRODUCTS }),
      });
      expect(anonymous.status).toBe(401);
      for (const roles of [['customer'], ['admin', 'staff']]) {
        const refused = await post(
          path,
          { query: PRODUCTS },
          { authorization: `Bearer ${await platform.issuer.sign({ roles })}` },
        );
        expect(refused.status).toBe(403);
        expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN' });
        expect(refused.body.errors?.[0]?.message).toContain('developer role');
      }
      const { key } = await platform.issueApiKey({
        tenantId: 'acme',
        clientName: 'Acme ERP',
        scopes: ['catalog:read'],
        manifest: 'erp-v1',
        expiresAt: new Date(Date.now() + DAY),
      });
      const partner = await fetch(`${platform.gateway.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ query: PRODUCTS }),
      });
      expect(partner.status).toBe(403);
    }
    expect(subgraphRequests()).toBe(0);
  });

  it("holds documents to /graphql's bounds and to the caller's visible schema", async () => {
    const cases: [unknown, number, Record<string, unknown>][] = [
      [{ query: '{ products { nope } }' }, 400, { code: 'GRAPHQL_VALIDATION_FAILED' }],
      // Denied to everyone by the fixtures' policy: not in a developer's schema, so not priced or planned.
      [{ query: '{ forbidden }' }, 400, { code: 'GRAPHQL_VALIDATION_FAILED' }],
      [{ query: '{ products { name ' }, 400, { code: 'GRAPHQL_PARSE_FAILED' }],
      [
        { query: `{ products { ${'related { '.repeat(14)}id${' }'.repeat(14)} } }` },
        400,
        { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'MAX_DEPTH_LIMIT' },
      ],
      [{ query: `{ a${'{'.repeat(200)} }` }, 400, { code: 'GRAPHQL_PARSE_FAILED', maximum: 128 }],
      [{ query: '{ __schema { types { name } } }' }, 400, { code: 'BAD_REQUEST' }],
      [
        { query: 'query Q($role: Role!) { greet(role: $role) }', variables: { role: 'ROOT' } },
        400,
        { code: 'BAD_USER_INPUT' },
      ],
      [{ query: 'query A { whoami { tenant } } query B { products { name } }' }, 400, { code: 'BAD_REQUEST' }],
      [{ variables: {} }, 400, { code: 'BAD_REQUEST' }],
      [[{ query: PRODUCTS }], 400, { code: 'BAD_REQUEST' }],
    ];
    for (const [body, status, extensions] of cases) {
      for (const path of ['/explorer/estimate', '/explorer/plan']) {
        const answer = await post(path, body);
        expect({ path, body, status: answer.status, extensions: answer.body.errors?.[0]?.extensions }).toEqual({
          path,
          body,
          status,
          extensions: expect.objectContaining(extensions),
        });
        expect(JSON.stringify(answer.body)).not.toMatch(/Did you mean|stack|at \//);
      }
    }
    const tooLarge = await post('/explorer/estimate', { query: `{ products { name } } # ${'x'.repeat(20_000)}` });
    expect(tooLarge.status).toBe(413);
    expect(subgraphRequests()).toBe(0);
  });

  it('is absent when the explorer is off', async () => {
    const off = await startTestPlatform({ explorerEnabled: false });
    try {
      const token = await off.issuer.sign({ roles: ['developer'] });
      for (const path of ['/explorer/estimate', '/explorer/plan']) {
        const res = await fetch(`${off.gateway.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: PRODUCTS }),
        });
        expect(res.status).toBe(404);
      }
    } finally {
      await off.stop();
    }
  }, 60_000);
});
