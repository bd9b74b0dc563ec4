import { deriveSubgraphKey, hashQuery, INTERNAL_TOKEN_HEADER } from '../../common/internal-token';
import { accounts } from '../accounts';
import { isServiceQuery, UNAUTHORIZED_BODY } from './internal-auth';
import { mintTestToken, startTestSubgraph, userCaller, type TestSubgraph } from './testing';

let sg: TestSubgraph;
const ME = '{ me { id } }';
const admin = userCaller('acme', 'admin@acme.test', ['admin']);
const EXACT_401 = '{"errors":[{"message":"Unauthorized","extensions":{"code":"UNAUTHENTICATED"}}]}';

beforeAll(async () => {
  sg = await startTestSubgraph(accounts);
});
afterAll(async () => {
  await sg?.close();
});

const lastRefusal = () => [...sg.logs].reverse().find((line) => line.msg === 'gateway token refused');

describe('refused with 401 and nothing else', () => {
  const now = Date.now();
  test.each<[string, string, () => Parameters<TestSubgraph['request']>[1]]>([
    ['no token', 'missing-token', () => ({ as: admin, token: null })],
    ['a garbage token', 'malformed', () => ({ as: admin, token: 'v1.garbage' })],
    [
      'another subgraph’s key',
      'bad-signature',
      () => ({ as: admin, key: deriveSubgraphKey(Buffer.alloc(32, 7), 'accounts') }),
    ],
    ['another audience', 'wrong-audience', () => ({ as: admin, claims: { aud: 'products' } })],
    ['an expired token', 'expired', () => ({ as: admin, claims: { iat: now - 50_000, exp: now - 1_000 } })],
    ['a token living too long', 'ttl-too-long', () => ({ as: admin, claims: { iat: now, exp: now + 3_600_000 } })],
    [
      'a token for another query',
      'query-mismatch',
      () => ({ as: admin, claims: { qh: hashQuery('{ users(first: 100) { edges { node { email } } } }') } }),
    ],
    [
      'an operation token without a valid tenant',
      'bad-tenant',
      () => ({ as: { tenant: 'Not A Tenant', principal: 'x', roles: ['admin'] } }),
    ],
    [
      'an operation token without a principal',
      'bad-claims',
      () => ({ as: { tenant: 'acme', principal: '', roles: ['admin'] } }),
    ],
    ['a service token for a normal query', 'svc-operation', () => ({ as: 'svc' })],
  ])('%s', async (_label, reason, options) => {
    const res = await sg.request(ME, options());
    expect(res.status).toBe(401);
    expect(res.text).toBe(EXACT_401);
    expect(JSON.parse(res.text)).toEqual(UNAUTHORIZED_BODY);
    expect(lastRefusal()).toMatchObject({ level: 'warn', reason });
  });

  test('the log line carries the request id but never the token', async () => {
    const token = mintTestToken(sg.key, 'accounts', ME, admin, {
      rid: 'req-expired-1',
      iat: Date.now() - 50_000,
      exp: Date.now() - 1_000,
    });
    await sg.request(ME, { as: admin, token });
    expect(lastRefusal()).toMatchObject({ reason: 'expired', requestId: 'req-expired-1' });
    expect(JSON.stringify(sg.logs)).not.toContain(token);
  });

  test('a verified token without a query in the body', async () => {
    const token = mintTestToken(sg.key, 'accounts', '', admin);
    const res = await fetch(sg.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: token },
      body: '{"variables":{}}',
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe(EXACT_401);
  });

  test.each([
    ['a mutation', 'mutation { inviteUser(input: {name: "x", email: "x@acme.test", roles: [ADMIN]}) { id } }'],
    ['an alias', '{ s: _service { sdl } }'],
    ['_entities', '{ _entities(representations: []) { __typename } }'],
    ['a fragment', '{ ...F } fragment F on Query { __typename }'],
    ['two operations', 'query A { __typename } query B { __typename }'],
    ['more than sdl', '{ _service { sdl __typename } }'],
  ])('a service token for %s', async (_label, query) => {
    const res = await sg.request(query, { as: 'svc' });
    expect(res.status).toBe(401);
  });
});

describe('service requests', () => {
  test.each([
    '{ __typename }',
    'query __ApolloGetServiceDefinition__ { _service { sdl } }',
    '{ __typename _service { sdl } }',
  ])('%s is answered', async (query) => {
    const res = await sg.request(query, { as: 'svc' });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  test('the SDL is the subgraph’s own schema', async () => {
    const res = await sg.request('{ _service { sdl } }', { as: 'svc' });
    expect((res.body.data?._service as { sdl: string }).sdl).toContain('type User');
  });
});

describe('operation requests', () => {
  test('concurrent requests each run in their own tenant', async () => {
    const INVITE = 'mutation ($input: InviteUserInput!) { inviteUser(input: $input) { id } }';
    const callers = ['acme', 'globex'].map((tenant) => userCaller(tenant, `admin@${tenant}.test`, ['admin']));
    for (const [index, caller] of callers.entries()) {
      const input = { name: `Admin ${index}`, email: `admin@${caller.tenant}.test`, roles: ['ADMIN'] };
      expect((await sg.request(INVITE, { as: caller, variables: { input } })).body.errors).toBeUndefined();
    }
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => callers[i % 2]!).map(async (caller) => ({
        caller,
        res: await sg.request('{ me { id email } users(first: 10) { edges { node { email } } } }', { as: caller }),
      })),
    );
    for (const { caller, res } of answers) {
      expect(res.body.data).toEqual({
        me: { id: caller.principal, email: `admin@${caller.tenant}.test` },
        users: { edges: [{ node: { email: `admin@${caller.tenant}.test` } }] },
      });
    }
  });

  test('introspection is disabled', async () => {
    const res = await sg.request('{ __schema { types { name } } }', { as: admin });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('HTTP surface', () => {
  const withToken = (query: string) => ({ [INTERNAL_TOKEN_HEADER]: mintTestToken(sg.key, 'accounts', query, admin) });

  test('only POST /graphql exists', async () => {
    expect((await fetch(sg.url)).status).toBe(405);
    expect((await fetch(sg.url.replace('/graphql', '/other'), { method: 'POST' })).status).toBe(404);
    expect((await fetch(sg.url.replace('/graphql', '/'))).status).toBe(404);
  });

  test('JSON only, at most 1 MB, well-formed', async () => {
    const text = await fetch(sg.url, {
      method: 'POST',
      headers: { ...withToken(ME), 'content-type': 'text/plain' },
      body: ME,
    });
    expect(text.status).toBe(415);
    const big = JSON.stringify({ query: ME, variables: { pad: 'x'.repeat(1_100_000) } });
    const tooLarge = await fetch(sg.url, {
      method: 'POST',
      headers: { ...withToken(ME), 'content-type': 'application/json' },
      body: big,
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toEqual({
      errors: [{ message: 'Payload too large', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
    const malformed = await fetch(sg.url, {
      method: 'POST',
      headers: { ...withToken(ME), 'content-type': 'application/json' },
      body: '{"query":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).not.toMatch(/Unexpected|position|SyntaxError/);
  });

  test('a request without the token header is refused before its body is read', async () => {
    const res = await fetch(sg.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});

describe('isServiceQuery', () => {
  test.each([
    ['{ __typename }', true],
    ['{ _service { sdl } }', true],
    ['query Health { __typename }', true],
    ['{ _service { sdl } me { id } }', false],
    ['{ __typename @skip(if: true) }', false],
    ['query ($a: Int) { __typename }', false],
    ['subscription { __typename }', false],
    ['{ _service }', false],
    ['{ __typename { x } }', false],
    ['not graphql', false],
    [`{ ${'__typename '.repeat(300)}}`, false],
  ])('%s → %s', (query, expected) => {
    expect(isServiceQuery(query)).toBe(expected);
  });
});
