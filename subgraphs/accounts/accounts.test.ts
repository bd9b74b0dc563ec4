import { Types } from 'mongoose';
import { userIdFor } from '../../common/ids';
import {
  countCommands,
  entitiesQuery,
  errorPaths,
  startTestSubgraph,
  userCaller,
  type Caller,
  type TestSubgraph,
} from '../kit/testing';
import { accounts } from './index';

let sg: TestSubgraph;

const INVITE = 'mutation Invite($input: InviteUserInput!) { inviteUser(input: $input) { id name email roles } }';
const adminOf = (tenant: string) => userCaller(tenant, `admin@${tenant}.test`, ['admin']);
const staffOf = (tenant: string) => userCaller(tenant, `staff@${tenant}.test`, ['staff']);
const customerOf = (tenant: string) => userCaller(tenant, `customer@${tenant}.test`, ['customer']);

async function invite(as: Caller, input: { name: string; email: string; roles: string[] }) {
  return sg.request(INVITE, { as, variables: { input } });
}

beforeAll(async () => {
  sg = await startTestSubgraph(accounts);
  for (const tenant of ['acme', 'globex']) {
    for (const role of ['admin', 'staff', 'customer']) {
      const res = await invite(adminOf(tenant), {
        name: `${role} of ${tenant}`,
        email: `${role}@${tenant}.test`,
        roles: [role.toUpperCase()],
      });
      expect(res.body.errors).toBeUndefined();
    }
  }
});

afterAll(async () => {
  await sg?.close();
});

describe('inviteUser', () => {
  test('normalises the address, derives the id from tenant and address, and stores roles in lower case', async () => {
    const res = await invite(adminOf('acme'), {
      name: '  Nina  ',
      email: '  Nina@Acme.TEST ',
      roles: ['STAFF', 'STAFF', 'CUSTOMER'],
    });
    expect(res.body.data?.inviteUser).toEqual({
      id: userIdFor('acme', 'nina@acme.test'),
      name: 'Nina',
      email: 'nina@acme.test',
      roles: ['STAFF', 'CUSTOMER'],
    });
    // Stored sealed (kit/encryption): the raw document holds neither the address nor the name in clear.
    const raw = await sg.connection
      .db!.collection('users')
      .findOne({ _id: new Types.ObjectId(userIdFor('acme', 'nina@acme.test')) });
    expect(raw).toMatchObject({ tenantId: 'acme', roles: ['staff', 'customer'] });
    expect(raw?.email).toMatch(/^v1:1:/);
    expect(raw?.name).toMatch(/^v1:1:/);
    expect(JSON.stringify(raw)).not.toMatch(/nina/i);
  });

  test('a duplicate address in the tenant is BAD_USER_INPUT without driver text; another tenant may use it', async () => {
    const dup = await invite(adminOf('acme'), { name: 'Again', email: 'STAFF@acme.test', roles: ['STAFF'] });
    expect(dup.body.errors).toEqual([
      expect.objectContaining({
        message: 'A user with this email already exists',
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
    expect(dup.text).not.toMatch(/E11000|duplicate key|tollgate|users|index/);
    const other = await invite(adminOf('globex'), { name: 'Same address', email: 'staff@acme.test', roles: ['STAFF'] });
    expect(other.body.data?.inviteUser).toMatchObject({ id: userIdFor('globex', 'staff@acme.test') });
  });

  test.each([
    ['an invalid address', { name: 'X', email: 'not-an-address', roles: ['STAFF'] }],
    ['an empty name', { name: '   ', email: 'x@acme.test', roles: ['STAFF'] }],
    ['no roles', { name: 'X', email: 'x@acme.test', roles: [] }],
    ['a name over 200 characters', { name: 'n'.repeat(201), email: 'x@acme.test', roles: ['STAFF'] }],
    ['more than 250 roles', { name: 'X', email: 'x@acme.test', roles: Array(251).fill('STAFF') }],
  ])('%s is BAD_USER_INPUT', async (_label, input) => {
    const res = await invite(adminOf('acme'), input);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('only admins may invite', async () => {
    for (const as of [staffOf('acme'), customerOf('acme')]) {
      const res = await invite(as, { name: 'Sneaky', email: 'sneaky@acme.test', roles: ['ADMIN'] });
      expect(res.body.errors).toEqual([
        expect.objectContaining({ message: 'Forbidden', extensions: { code: 'FORBIDDEN' } }),
      ]);
    }
    expect(await sg.connection.db!.collection('users').countDocuments({ email: 'sneaky@acme.test' })).toBe(0);
  });
});

describe('reading users', () => {
  test('me is the principal’s user, and null for a principal that is not a user', async () => {
    const res = await sg.request('{ me { id email roles } }', { as: customerOf('acme') });
    expect(res.body.data?.me).toEqual({
      id: userIdFor('acme', 'customer@acme.test'),
      email: 'customer@acme.test',
      roles: ['CUSTOMER'],
    });
    const apiKey = await sg.request('{ me { id } }', {
      as: { tenant: 'acme', principal: 'key_0123456789', roles: ['developer'] },
    });
    expect(apiKey.body).toEqual({ data: { me: null } });
  });

  test('user(id) answers NOT_FOUND alike for a malformed id, a missing id and another tenant’s user', async () => {
    const ids = ['not-an-id', 'ffffffffffffffffffffffff', userIdFor('globex', 'admin@globex.test')];
    for (const id of ids) {
      const res = await sg.request('query User($id: ID!) { user(id: $id) { id name } }', {
        as: adminOf('acme'),
        variables: { id },
      });
      expect(res.body).toEqual({
        data: { user: null },
        errors: [
          expect.objectContaining({ message: 'User not found', path: ['user'], extensions: { code: 'NOT_FOUND' } }),
        ],
      });
    }
  });

  test('users pages through the tenant only, with validated first and after', async () => {
    const query =
      'query Users($first: Int!, $after: String) { users(first: $first, after: $after) { edges { cursor node { email } } pageInfo { hasNextPage endCursor } } }';
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res = await sg.request(query, { as: adminOf('globex'), variables: { first: 2, after } });
      const page = (res.body.data?.users ?? {}) as {
        edges: { node: { email: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
      seen.push(...page.edges.map((edge) => edge.node.email));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual(['admin@globex.test', 'customer@globex.test', 'staff@acme.test', 'staff@globex.test']);
    for (const variables of [
      { first: 0 },
      { first: 101 },
      { first: 5, after: 'garbage' },
      { first: 5, after: 'AAAAAAAAAAAAAAAA=' },
    ]) {
      const res = await sg.request(query, { as: adminOf('globex'), variables });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  test('customers cannot list users', async () => {
    const res = await sg.request('{ users(first: 5) { edges { node { id } } } }', { as: customerOf('acme') });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('email is decided per user', () => {
  test('in a list, a staff member sees their own address and is refused every other one', async () => {
    const res = await sg.request('{ users(first: 10) { edges { node { id email } } } }', { as: staffOf('acme') });
    const ownId = userIdFor('acme', 'staff@acme.test');
    const nodes = (res.body.data?.users as { edges: { node: { id: string; email: string | null } }[] }).edges.map(
      (edge) => edge.node,
    );
    expect(nodes.length).toBeGreaterThan(2);
    expect(nodes.map((node) => node.email)).toEqual(
      nodes.map((node) => (node.id === ownId ? 'staff@acme.test' : null)),
    );
    const refusedPaths = nodes.flatMap((node, index) => (node.id === ownId ? [] : [`users.edges.${index}.node.email`]));
    expect(errorPaths(res.body, 'FORBIDDEN').sort()).toEqual(refusedPaths.sort());
  });

  test('an admin sees every address', async () => {
    const res = await sg.request('{ users(first: 10) { edges { node { email } } } }', { as: adminOf('acme') });
    expect(res.body.errors).toBeUndefined();
  });

  test('through _entities, each representation gets its own decision', async () => {
    const representations = ['customer', 'admin', 'staff'].map((role) => ({
      __typename: 'User',
      id: userIdFor('acme', `${role}@acme.test`),
    }));
    const res = await sg.request(entitiesQuery('... on User { id email }'), {
      as: customerOf('acme'),
      variables: { representations },
    });
    expect(res.body.data?._entities).toEqual([
      { id: representations[0]!.id, email: 'customer@acme.test' },
      { id: representations[1]!.id, email: null },
      { id: representations[2]!.id, email: null },
    ]);
    expect(errorPaths(res.body, 'FORBIDDEN').sort()).toEqual(['_entities.1.email', '_entities.2.email']);
  });
});

describe('_entities', () => {
  test('another tenant’s user and malformed ids resolve to null', async () => {
    const representations = [
      { __typename: 'User', id: userIdFor('acme', 'admin@acme.test') },
      { __typename: 'User', id: userIdFor('globex', 'admin@globex.test') },
      { __typename: 'User', id: 'x' },
    ];
    const res = await sg.request(entitiesQuery('... on User { name }'), {
      as: adminOf('acme'),
      variables: { representations },
    });
    expect(res.body.data?._entities).toEqual([{ name: 'admin of acme' }, null, null]);
  });

  test('ten representations cost one find', async () => {
    const representations = Array.from({ length: 10 }, (_, i) => ({
      __typename: 'User',
      id: userIdFor('acme', i < 3 ? `${['admin', 'staff', 'customer'][i]}@acme.test` : `nobody${i}@acme.test`),
    }));
    const { result, commands } = await countCommands(sg, () =>
      sg.request(entitiesQuery('... on User { id name }'), { as: adminOf('acme'), variables: { representations } }),
    );
    expect(result.body.errors).toBeUndefined();
    expect(commands).toEqual(['find']);
  });
});
