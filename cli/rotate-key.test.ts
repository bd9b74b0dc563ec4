/**
 * `tollgate tenant rotate-key` against real accounts and reviews subgraphs on FerretDB: reads keep working while the
 * key rotates, every value ends sealed with the new version, the old one is retired, and the signed platform call
 * refuses anything but its own tokens.
 */
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { INTERNAL_TOKEN_HEADER } from '../common/internal-token';
import { accounts, reviews } from '../subgraphs/definitions';
import { keyVersionOf } from '../subgraphs/kit/encryption/format';
import { PLATFORM_KEYS_PATH, signKeyAdminRequest } from '../subgraphs/kit/encryption/key-admin';
import { createMasterKeyProvider } from '../subgraphs/kit/encryption/key-provider';
import { siloDbName } from '../subgraphs/kit/placement';
import { mintTestToken, startTestSubgraph, userCaller, type TestSubgraph } from '../subgraphs/kit/testing';
import { rotateTenantKey, type KeyTarget } from './rotate-key';

// A cache TTL of 1 s (the minimum): the rotation waits that long for the replicas before retiring.
const encryption = { keyProvider: createMasterKeyProvider(randomBytes(32)), cache: { max: 100, ttlMs: 1_000 } };
const admin = userCaller('acme', 'admin@acme.test', ['admin']);
let accountsSg: TestSubgraph;
let reviewsSg: TestSubgraph;
let productId: string;

const targets = (): KeyTarget[] => [
  { name: 'accounts', url: accountsSg.url, key: accountsSg.key },
  { name: 'reviews', url: reviewsSg.url, key: reviewsSg.key },
];

const USERS = '{ users(first: 100) { edges { node { id name email } } } }';
const REVIEWS = `query R($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { reviews(first: 100) { edges { node { body } } } } }
}`;

async function readAll(): Promise<{ users: unknown; bodies: unknown }> {
  const users = await accountsSg.request(USERS, { as: admin });
  const bodies = await reviewsSg.request(REVIEWS, {
    as: admin,
    variables: { representations: [{ __typename: 'Product', id: productId }] },
  });
  expect(users.body.errors).toBeUndefined();
  expect(bodies.body.errors).toBeUndefined();
  return { users: users.body.data, bodies: bodies.body.data };
}

beforeAll(async () => {
  accountsSg = await startTestSubgraph(accounts, { encryption });
  reviewsSg = await startTestSubgraph(reviews, { encryption });
  productId = new Types.ObjectId().toHexString();
  for (let i = 0; i < 25; i += 1) {
    const invited = await accountsSg.request(
      'mutation I($input: InviteUserInput!) { inviteUser(input: $input) { id } }',
      { as: admin, variables: { input: { name: `Person ${i}`, email: `p${i}@acme.test`, roles: ['CUSTOMER'] } } },
    );
    expect(invited.body.errors).toBeUndefined();
    const reviewed = await reviewsSg.request(
      'mutation A($input: AddReviewInput!) { addReview(input: $input) { id } }',
      {
        as: userCaller('acme', `p${i}@acme.test`, ['customer']),
        variables: { input: { productId, rating: 4, body: `Review number ${i}` } },
      },
    );
    expect(reviewed.body.errors).toBeUndefined();
  }
  // Another tenant, which the rotation must not touch.
  await accountsSg.request(
    'mutation { inviteUser(input: { name: "G", email: "g@globex.test", roles: [STAFF] }) { id } }',
    {
      as: userCaller('globex', 'admin@globex.test', ['admin']),
    },
  );
});

afterAll(async () => {
  await accountsSg?.close();
  await reviewsSg?.close();
});

test('rotation keeps every value readable throughout, re-encrypts in batches and retires the old version', async () => {
  const before = await readAll();
  let reading = true;
  let reads = 0;
  // Reads run while the rotation does: none may fail or answer anything else.
  const reader = (async () => {
    while (reading) {
      expect(await readAll()).toEqual(before);
      reads += 1;
    }
  })();
  const steps: string[] = [];
  const results = await rotateTenantKey({
    targets: targets(),
    tenantId: 'acme',
    batchSize: 7,
    onStep: (l) => steps.push(l),
  });
  reading = false;
  await reader;
  expect(reads).toBeGreaterThan(0);
  expect(results).toEqual([
    { subgraph: 'accounts', from: 1, to: 2, reencrypted: 25, retired: true },
    { subgraph: 'reviews', from: 1, to: 2, reencrypted: 25, retired: true },
  ]);
  expect(steps.filter((line) => line.endsWith('retired'))).toEqual([
    'accounts: version 1 retired',
    'reviews: version 1 retired',
  ]);
  expect(await readAll()).toEqual(before);
  expect(await accountsSg.keyStore!.status('acme')).toMatchObject({ current: 2, versions: [2] });
  expect(await reviewsSg.keyStore!.status('acme')).toMatchObject({ current: 2, versions: [2] });
  const users = await accountsSg.connection.db!.collection('users').find({}).toArray();
  for (const user of users) {
    const expected = user.tenantId === 'acme' ? 2 : 1;
    expect([keyVersionOf(user.email as string), keyVersionOf(user.name as string)]).toEqual([expected, expected]);
  }
  const stored = await reviewsSg.connection.db!.collection('reviews').find({}).toArray();
  expect(stored.map((review) => keyVersionOf(review.body as string))).toEqual(stored.map(() => 2));
  // A second rotation works the same way from version 2.
  const again = await rotateTenantKey({ targets: targets().slice(0, 1), tenantId: 'acme' });
  expect(again).toEqual([{ subgraph: 'accounts', from: 2, to: 3, reencrypted: 25, retired: true }]);
});

test('a silo tenant’s values are re-encrypted in its own database before the old version is retired', async () => {
  const silo = userCaller('umbrella', 'admin@umbrella.test', ['admin']);
  const placed = { plc: { tier: 'silo' as const, epoch: 1 } };
  for (let i = 0; i < 4; i += 1) {
    const invited = await accountsSg.request(
      'mutation I($input: InviteUserInput!) { inviteUser(input: $input) { id } }',
      {
        as: silo,
        claims: placed,
        variables: { input: { name: `Silo ${i}`, email: `s${i}@umbrella.test`, roles: ['CUSTOMER'] } },
      },
    );
    expect(invited.body.errors).toBeUndefined();
  }
  const siloUsers = accountsSg.connection
    .getClient()
    .db(siloDbName(accountsSg.connection.name, 'umbrella'))
    .collection('users');
  try {
    const before = await accountsSg.request(USERS, { as: silo, claims: placed });
    expect(before.text).toContain('s3@umbrella.test');
    const results = await rotateTenantKey({ targets: targets().slice(0, 1), tenantId: 'umbrella', batchSize: 3 });
    expect(results).toEqual([{ subgraph: 'accounts', from: 1, to: 2, reencrypted: 4, retired: true }]);
    const stored = await siloUsers.find({}).toArray();
    expect(stored).toHaveLength(4);
    for (const user of stored)
      expect([keyVersionOf(user.email as string), keyVersionOf(user.name as string)]).toEqual([2, 2]);
    // Still readable once version 1 is gone.
    expect((await accountsSg.request(USERS, { as: silo, claims: placed })).body).toEqual(before.body);
  } finally {
    await accountsSg.connection.getClient().db(siloDbName(accountsSg.connection.name, 'umbrella')).dropDatabase();
  }
});

describe('the platform key call', () => {
  async function post(body: string, token: string | null) {
    const res = await fetch(new URL(PLATFORM_KEYS_PATH, accountsSg.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { [INTERNAL_TOKEN_HEADER]: token }) },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
  }
  const body = JSON.stringify({ op: 'destroy', tenantId: 'globex' });

  test('refuses a gateway token, another subgraph key, another body or tenant, and no token', async () => {
    const gatewayToken = mintTestToken(
      accountsSg.key,
      'accounts',
      body,
      userCaller('globex', 'a@globex.test', ['admin']),
    );
    for (const token of [
      null,
      gatewayToken,
      signKeyAdminRequest(reviewsSg.key, 'accounts', body, 'globex'),
      signKeyAdminRequest(accountsSg.key, 'reviews', body, 'globex'),
      signKeyAdminRequest(accountsSg.key, 'accounts', JSON.stringify({ op: 'status', tenantId: 'globex' }), 'globex'),
      signKeyAdminRequest(accountsSg.key, 'accounts', body, 'acme'),
    ]) {
      expect(await post(body, token)).toEqual({
        status: 401,
        body: { error: expect.objectContaining({ code: 'UNAUTHENTICATED' }) },
      });
    }
    expect(await accountsSg.keyStore!.status('globex')).toMatchObject({ current: 1 });
  });

  test('refuses to retire the current version or one still in use, with stable codes', async () => {
    const status = await accountsSg.keyStore!.status('acme');
    const current = JSON.stringify({ op: 'retire', tenantId: 'acme', version: status!.current });
    expect(await post(current, signKeyAdminRequest(accountsSg.key, 'accounts', current, 'acme'))).toMatchObject({
      status: 409,
      body: { error: { code: 'CONFLICT' } },
    });
    const bad = JSON.stringify({ op: 'explode', tenantId: 'acme' });
    expect(await post(bad, signKeyAdminRequest(accountsSg.key, 'accounts', bad, 'acme'))).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST' } },
    });
  });

  test('destroys a tenant key when signed for it (what an erase calls)', async () => {
    const signed = signKeyAdminRequest(accountsSg.key, 'accounts', body, 'globex');
    expect(await post(body, signed)).toEqual({ status: 200, body: { destroyed: true } });
    expect(await accountsSg.keyStore!.status('globex')).toBeUndefined();
  });
});
