/**
 * Introspection and the SDL download over HTTP, against the test platform (fixture subgraphs, whose policy allows
 * everything to any caller but `Query.forbidden`, and introspection to developers).
 */
import { getIntrospectionQuery } from 'graphql';
import { startTestPlatform, type GraphQLHttpResult, type TestPlatform } from '../testing/platform';

const SCHEMA_QUERY = { query: '{ __schema { queryType { name fields { name } } types { name } } }' };
const DAY = 86_400_000;

function expectIntrospectionDisabled(res: GraphQLHttpResult): void {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({
    errors: [
      {
        message:
          'Introspection needs the developer role, which this credential lacks: ask for a token with the developer role (in development: npm run token -- --tenant <tenant> --user <you> --roles developer).',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
      },
    ],
  });
}

function subgraphRequests(platform: TestPlatform): number {
  return Object.values(platform.subgraphs).reduce((n, s) => n + s.requests.length, 0);
}

describe('introspection', () => {
  let platform: TestPlatform;
  let developerToken: string;

  beforeAll(async () => {
    platform = await startTestPlatform();
    developerToken = await platform.issuer.sign({ roles: ['developer'] });
  });

  afterAll(async () => {
    await platform?.stop();
  });

  beforeEach(() => {
    for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
  });

  it('answers 401 to an anonymous caller before anything else', async () => {
    const res = await platform.graphql(SCHEMA_QUERY, { token: null });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('refuses customers, staff and admins', async () => {
    for (const roles of [['customer'], ['staff'], ['admin']]) {
      expectIntrospectionDisabled(
        await platform.graphql(SCHEMA_QUERY, { token: await platform.issuer.sign({ roles }) }),
      );
      expectIntrospectionDisabled(
        await platform.graphql(
          { query: '{ __type(name: "Query") { name } }' },
          { token: await platform.issuer.sign({ roles }) },
        ),
      );
    }
  });

  it("refuses a partner's API key (which runs persisted operations only)", async () => {
    const { key } = await platform.issueApiKey({
      tenantId: 'acme',
      clientName: 'Acme ERP',
      scopes: ['catalog:read', 'users:read'],
      manifest: 'erp-v1',
      expiresAt: new Date(Date.now() + DAY),
    });
    const res = await platform.graphql(SCHEMA_QUERY, { apiKey: key });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(subgraphRequests(platform)).toBe(0);
  });

  it('answers a developer from the visible schema, without asking any subgraph', async () => {
    const res = await platform.graphql(SCHEMA_QUERY, { token: developerToken });
    expect(res.status).toBe(200);
    const schema = (
      res.body.data as { __schema: { queryType: { fields: { name: string }[] }; types: { name: string }[] } }
    ).__schema;
    const fields = schema.queryType.fields.map((f) => f.name);
    expect(fields).toEqual(expect.arrayContaining(['whoami', 'products', 'crash']));
    expect(fields).not.toContain('forbidden');
    expect(schema.types.map((t) => t.name)).not.toContain('join__Graph');
    expect(subgraphRequests(platform)).toBe(0);
  });

  it("answers the standard introspection query, deeper than the plan's depth limit", async () => {
    const res = await platform.graphql(
      { query: getIntrospectionQuery({ inputValueDeprecation: true }) },
      { token: developerToken },
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toHaveProperty('__schema.queryType.name', 'Query');
  });

  it('refuses introspection mixed with other fields', async () => {
    const res = await platform.graphql(
      { query: '{ __schema { queryType { name } } whoami { tenant } }' },
      { token: developerToken },
    );
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(subgraphRequests(platform)).toBe(0);
  });

  it('refuses introspection that nests schema lists to multiply its answer', async () => {
    // graphql-js's own rule counts only `fields`, `inputFields`, `interfaces` and `possibleTypes`; this has two.
    const query = '{ __schema { types { fields { args { type { inputFields { name } } } } } } }';
    const res = await platform.graphql({ query }, { token: developerToken });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions).toEqual({
      code: 'GRAPHQL_VALIDATION_FAILED',
      validationErrorCode: 'MAX_DEPTH_LIMIT',
      maximum: 3,
      actual: 4,
    });
  });

  it('still sends ordinary operations through the pipeline', async () => {
    const res = await platform.graphql({ query: '{ __typename whoami { roles } }' }, { token: developerToken });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ __typename: 'Query', whoami: { roles: ['developer'] } });
  });
});

describe('GET /schema.graphql and the explorer setting', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  });

  afterAll(async () => {
    await platform?.stop();
  });

  const download = (token?: string) =>
    fetch(`${platform.gateway.url}/schema.graphql`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('prints the visible schema for a developer', async () => {
    const res = await download(await platform.issuer.sign({ roles: ['developer'] }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const sdl = await res.text();
    expect(sdl).toContain('type Query {');
    expect(sdl).toContain('whoami: Whoami!');
    expect(sdl).not.toContain('forbidden');
  });

  it('answers 403 to other roles and 401 without a token', async () => {
    const customer = await download(await platform.issuer.sign({ roles: ['customer'] }));
    expect(customer.status).toBe(403);
    expect(await customer.json()).toEqual({
      errors: [{ message: 'Only developers may download the schema.', extensions: { code: 'FORBIDDEN' } }],
    });
    const anonymous = await download();
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()) as unknown).toMatchObject({
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });

  it("serves the gateway's own pages (the explorer) and refuses other sites' pages", async () => {
    const token = await platform.issuer.sign({ roles: ['developer'] });
    const own = await platform.graphql(
      { query: '{ whoami { tenant } }' },
      { token, headers: { origin: platform.gateway.url } },
    );
    expect(own.status).toBe(200);
    const other = await platform.graphql(
      { query: '{ whoami { tenant } }' },
      { token, headers: { origin: 'https://evil.example' } },
    );
    expect(other.status).toBe(403);
    expect(other.body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'ORIGIN_NOT_ALLOWED' });
  });

  it('has no explorer when the setting is off', async () => {
    expect((await fetch(`${platform.gateway.url}/explorer`)).status).toBe(404);
  });
});
