/**
 * Encryption at rest on real FerretDB: the demo data as seeded and served, scanned raw with the driver (issue 18
 * acceptance 3); a tenant's raw ciphertext after its key is destroyed (acceptance 2, second half); values copied
 * across tenants; e-mail lookups and uniqueness on the blind index; rotation; the migration of clear data.
 */
import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import { userIdFor } from '../../../common/ids';
import { DEMO_USERS, demoPersonalValues, demoUserId, seedDemoTenants } from '../../../demo/subgraph-data';
import { accounts, reviews } from '../../definitions';
import { findUserByEmail } from '../../accounts/lookup';
import type { AccountsModels } from '../../accounts/models';
import { ENCRYPTED, migrateSilo, migrateSubgraphs } from '../../migrate';
import { siloDbName } from '../placement';
import { openDatabase } from '../database';
import { inTenant, startTestSubgraph, testMongoUri, userCaller, type TestSubgraph } from '../testing';
import type { EncryptionOptions } from './index';
import { openEncryption } from './index';
import { CiphertextError, isSealed, keyVersionOf } from './format';
import { createMasterKeyProvider } from './key-provider';
import { TENANT_KEYS_COLLECTION } from './key-store';
import { countStale, reencryptCollection } from './reencrypt';

const prefix = `test_enc_${randomBytes(4).toString('hex')}`;
const dbNameFor = (name: string) => `${prefix}_${name}`;
const encryption: EncryptionOptions = { keyProvider: createMasterKeyProvider(randomBytes(32)) };
const admin = (tenant: 'acme' | 'globex') => userCaller(tenant, DEMO_USERS[tenant].admin, ['admin']);
let accountsSg: TestSubgraph;
let reviewsSg: TestSubgraph;
let client: Connection;

type Raw = Record<string, unknown>;

/** Every document of every collection of every database of this test, as the driver returns it. */
async function rawScan(dbPrefix = prefix): Promise<{ db: string; collection: string; doc: Raw }[]> {
  const admin = client.getClient().db().admin();
  const { databases } = await admin.listDatabases({ nameOnly: true });
  const out: { db: string; collection: string; doc: Raw }[] = [];
  for (const { name } of databases.filter((d) => d.name.startsWith(dbPrefix))) {
    const db = client.getClient().db(name);
    for (const { name: collection } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      for (const doc of await db.collection(collection).find({}).toArray()) out.push({ db: name, collection, doc });
    }
  }
  return out;
}

const ME = '{ me { id name email } }';
const PRODUCT_REVIEWS = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { reviews(first: 10) { edges { node { body } } } } }
}`;

beforeAll(async () => {
  await seedDemoTenants({ mongoUri: testMongoUri(), dbNameFor, encryption });
  accountsSg = await startTestSubgraph(accounts, { dbName: dbNameFor('accounts'), encryption });
  reviewsSg = await startTestSubgraph(reviews, { dbName: dbNameFor('reviews'), encryption });
  client = await openDatabase({ mongoUri: testMongoUri(), dbName: dbNameFor('accounts') });
});

afterAll(async () => {
  await accountsSg?.close();
  await reviewsSg?.close();
  for (const name of ['products', 'inventory', 'migrated_accounts', 'migrated_reviews', 'msilo_accounts'])
    await client?.getClient().db(dbNameFor(name)).dropDatabase();
  await client?.close();
});

async function bodiesOf(tenant: 'acme' | 'globex', role: 'customer' | 'staff') {
  const res = await reviewsSg.request(PRODUCT_REVIEWS, {
    as: admin(tenant),
    variables: { representations: [{ __typename: 'User', id: demoUserId(tenant, role) }] },
  });
  expect(res.body.errors).toBeUndefined();
  const entities = res.body.data?._entities as { reviews: { edges: { node: { body: string } }[] } }[];
  return entities[0]!.reviews.edges.map((edge) => edge.node.body).sort();
}

describe('the demo data at rest (acceptance 3)', () => {
  test('is served in clear through the subgraphs', async () => {
    const res = await accountsSg.request(ME, { as: admin('acme') });
    expect(res.body.data?.me).toEqual({ id: demoUserId('acme', 'admin'), name: 'Ada Admin', email: 'admin@acme.test' });
    expect(await bodiesOf('acme', 'customer')).toContain('Kept me dry on a very wet bike ride.');
  });

  test('a raw scan of every database finds no e-mail, name or review body of any demo user', async () => {
    const docs = await rawScan();
    // The scan sees the seeded data: every subgraph database, users, reviews and the key store.
    const collections = new Set(docs.map((d) => `${d.db.slice(prefix.length + 1)}.${d.collection}`));
    for (const c of ['accounts.users', 'reviews.reviews', 'products.products', 'accounts.tenant_keys'])
      expect(collections).toContain(c);
    const values = [...new Set(demoPersonalValues().map((v) => v.toLowerCase()))];
    // 6 addresses, 3 names, 7 review bodies.
    expect(values.length).toBe(16);
    const text = docs.map((d) => JSON.stringify(d.doc).toLowerCase()).join('\n');
    for (const value of values) expect({ value, found: text.includes(value) }).toEqual({ value, found: false });
    // The personal fields are sealed, each with its blind index beside the address.
    for (const { collection, doc } of docs) {
      if (collection === 'users') {
        expect([isSealed(doc.email), isSealed(doc.name), typeof doc.emailIndex]).toEqual([true, true, 'string']);
      }
      if (collection === 'reviews') expect(isSealed(doc.body)).toBe(true);
    }
  });
});

describe('a ciphertext copied to another tenant', () => {
  test('does not decrypt there: the tenant is associated data', async () => {
    const users = accountsSg.connection.db!.collection('users');
    const acmeAdmin = await users.findOne({ _id: new Types.ObjectId(demoUserId('acme', 'admin')) });
    const globexId = new Types.ObjectId(demoUserId('globex', 'admin'));
    const globexAdmin = await users.findOne({ _id: globexId });
    await users.updateOne({ _id: globexId }, { $set: { email: acmeAdmin!.email } });
    try {
      const res = await accountsSg.request(ME, { as: admin('globex') });
      // `email` is nullable: it alone fails, opaquely, and nothing of acme's address is answered.
      expect(res.body.data?.me).toMatchObject({ name: 'Ada Admin', email: null });
      expect(res.body.errors?.map((e) => [e.path?.join('.'), e.extensions?.code])).toEqual([
        ['me.email', 'INTERNAL_SERVER_ERROR'],
      ]);
      expect(res.text).not.toContain('acme.test');
    } finally {
      await users.updateOne({ _id: globexId }, { $set: { email: globexAdmin!.email } });
    }
    expect((await accountsSg.request(ME, { as: admin('globex') })).body.data?.me).toMatchObject({
      email: 'admin@globex.test',
    });
  });
});

describe('e-mail lookups and uniqueness', () => {
  const models = () => ({ User: accountsSg.connection.model('User') }) as unknown as AccountsModels;

  test('a lookup by address finds the user through the blind index, in its own tenant only', async () => {
    const found = await inTenant('acme', () =>
      findUserByEmail(models(), accountsSg.cipher, 'acme', ' ADMIN@acme.test'),
    );
    expect(found?._id.toHexString()).toBe(demoUserId('acme', 'admin'));
    const elsewhere = await inTenant('globex', () =>
      findUserByEmail(models(), accountsSg.cipher, 'globex', 'admin@acme.test'),
    );
    expect(elsewhere).toBeNull();
  });

  test('the unique index holds on the blind index even for a document with another id', async () => {
    const emailIndex = await accountsSg.cipher.emailIndex('acme', 'staff@acme.test');
    const attempt = inTenant('acme', () =>
      models().User.create({
        _id: new Types.ObjectId(),
        name: 'x',
        email: 'x',
        emailIndex,
        roles: ['staff'],
        invitedAt: new Date(),
      }),
    );
    await expect(attempt).rejects.toMatchObject({ code: 11000 });
    const dup = await accountsSg.request(
      'mutation { inviteUser(input: { name: "Again", email: "Staff@Acme.test", roles: [STAFF] }) { id } }',
      { as: admin('acme') },
    );
    expect(dup.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('key rotation', () => {
  test('keeps every value readable before, during and after re-encryption, then retires the old version', async () => {
    const db = accountsSg.connection.db!;
    const { from, to } = await accountsSg.keyStore!.rotate('acme');
    expect([from, to]).toEqual([1, 2]);
    // Values sealed with version 1 are still read; new ones are sealed with version 2.
    expect((await accountsSg.request(ME, { as: admin('acme') })).body.data?.me).toMatchObject({ name: 'Ada Admin' });
    const invited = await accountsSg.request(
      'mutation { inviteUser(input: { name: "Rota Tion", email: "rota@acme.test", roles: [STAFF] }) { id } }',
      { as: admin('acme') },
    );
    expect(invited.body.errors).toBeUndefined();
    const rota = await db.collection('users').findOne({ _id: new Types.ObjectId(userIdFor('acme', 'rota@acme.test')) });
    expect(keyVersionOf(rota!.email as string)).toBe(2);

    const spec = ENCRYPTED.accounts[0]!;
    expect(await countStale({ db, spec, cipher: accountsSg.cipher, tenantId: 'acme' })).toBeGreaterThan(0);
    const pass = await reencryptCollection({ db, spec, cipher: accountsSg.cipher, tenantId: 'acme', batchSize: 2 });
    expect(pass).toMatchObject({ updated: 3, raced: 0 });
    expect(await countStale({ db, spec, cipher: accountsSg.cipher, tenantId: 'acme' })).toBe(0);
    // Idempotent: a second pass finds nothing to do.
    expect(await reencryptCollection({ db, spec, cipher: accountsSg.cipher, tenantId: 'acme' })).toMatchObject({
      updated: 0,
    });
    await accountsSg.keyStore!.retire('acme', 1);
    expect(await accountsSg.keyStore!.status('acme')).toMatchObject({ current: 2, versions: [2] });

    expect((await accountsSg.request(ME, { as: admin('acme') })).body.data?.me).toEqual({
      id: demoUserId('acme', 'admin'),
      name: 'Ada Admin',
      email: 'admin@acme.test',
    });
    const found = await inTenant('acme', () =>
      findUserByEmail(
        { User: accountsSg.connection.model('User') } as unknown as AccountsModels,
        accountsSg.cipher,
        'acme',
        'customer@acme.test',
      ),
    );
    expect(found?._id.toHexString()).toBe(demoUserId('acme', 'customer'));
    const versions = (await db.collection('users').find({}).toArray()).map((doc) => [
      doc.tenantId,
      keyVersionOf(doc.email as string),
      keyVersionOf(doc.name as string),
    ]);
    for (const [tenant, emailVersion, nameVersion] of versions) {
      const expected = tenant === 'acme' ? 2 : 1;
      expect([tenant, emailVersion, nameVersion]).toEqual([tenant, expected, expected]);
    }
    // The current version cannot be retired.
    await expect(accountsSg.keyStore!.retire('acme', 2)).rejects.toThrow(/current/);
  });
});

describe('destroying a tenant data key (acceptance 2, second half)', () => {
  test('leaves a raw copy of its ciphertext undecryptable with anything the platform holds', async () => {
    const copy = {
      users: await accountsSg.connection.db!.collection('users').find({ tenantId: 'acme' }).toArray(),
      reviews: await reviewsSg.connection.db!.collection('reviews').find({ tenantId: 'acme' }).toArray(),
    };
    const sealed = [
      ...copy.users.flatMap((doc) => [
        { field: 'users.email', value: doc.email as string, sg: accountsSg },
        { field: 'users.name', value: doc.name as string, sg: accountsSg },
      ]),
      ...copy.reviews.map((doc) => ({ field: 'reviews.body', value: doc.body as string, sg: reviewsSg })),
    ];
    expect(sealed.length).toBeGreaterThanOrEqual(12);
    // Before: the copy decrypts (so the test below could fail).
    for (const { field, value, sg } of sealed) expect(isSealed(await sg.cipher.open('acme', field, value))).toBe(false);

    expect(await accountsSg.keyStore!.destroyTenantKey('acme')).toEqual({ destroyed: true });
    expect(await reviewsSg.keyStore!.destroyTenantKey('acme')).toEqual({ destroyed: true });
    expect(await accountsSg.keyStore!.destroyTenantKey('acme')).toEqual({ destroyed: false });

    // What the platform still holds: the same master key, every database. Fresh key stores (another replica, a
    // restarted process) and the running ones alike refuse every value of the copy.
    const holders = [
      accountsSg.cipher,
      reviewsSg.cipher,
      openEncryption(accountsSg.connection, encryption).cipher,
      openEncryption(reviewsSg.connection, encryption).cipher,
    ];
    for (const { field, value } of sealed) {
      for (const cipher of holders) await expect(cipher.open('acme', field, value)).rejects.toThrow(CiphertextError);
    }
    // No wrapped key of the tenant is left in any database of the platform.
    const keys = (await rawScan()).filter((d) => d.collection === TENANT_KEYS_COLLECTION);
    expect(keys.map((d) => d.doc._id).sort()).toEqual(['globex', 'globex']);
    // The subgraph no longer serves the tenant's personal data; the other tenant is unaffected.
    const res = await accountsSg.request(ME, { as: admin('acme') });
    expect(res.text).not.toContain('Ada Admin');
    expect(res.text).not.toContain('admin@acme.test');
    expect((await accountsSg.request(ME, { as: admin('globex') })).body.data?.me).toMatchObject({
      email: 'admin@globex.test',
    });
    expect(await bodiesOf('globex', 'customer')).toContain('Shrank after the first wash.');
  });
});

describe('`tollgate migrate` on clear data', () => {
  test('seals every clear personal field once, and the subgraph reads them', async () => {
    const names = { accounts: dbNameFor('migrated_accounts'), reviews: dbNameFor('migrated_reviews') };
    const users = client.getClient().db(names.accounts).collection('users');
    const reviewsCollection = client.getClient().db(names.reviews).collection('reviews');
    // Documents as the version before encryption wrote them.
    const clearUsers = Array.from({ length: 7 }, (_, i) => ({
      _id: new Types.ObjectId(userIdFor('acme', `clear${i}@acme.test`)),
      tenantId: 'acme',
      name: `Clear Person ${i}`,
      email: `clear${i}@acme.test`,
      roles: ['customer'],
      invitedAt: new Date(),
    }));
    await users.insertMany(clearUsers);
    await reviewsCollection.insertOne({
      tenantId: 'globex',
      productId: new Types.ObjectId(),
      authorId: new Types.ObjectId(),
      rating: 4,
      body: 'A clear review body',
    });
    const sealed: Record<string, number> = {};
    const migrate = () =>
      migrateSubgraphs({
        mongoUri: testMongoUri(),
        names: ['accounts', 'reviews'],
        dbNameFor: (name) => names[name as keyof typeof names],
        encryption,
        onEncrypted: (name, result) => (sealed[name] = result.updated),
      });
    await migrate();
    expect(sealed).toEqual({ accounts: 7, reviews: 1 });
    const text = JSON.stringify([...(await users.find({}).toArray()), ...(await reviewsCollection.find({}).toArray())]);
    expect(text).not.toMatch(/clear person|clear\d@acme|a clear review body/i);
    await migrate();
    expect(sealed).toEqual({ accounts: 0, reviews: 0 });

    const sg = await startTestSubgraph(accounts, { dbName: names.accounts, encryption });
    try {
      const res = await sg.request(ME, { as: userCaller('acme', 'clear3@acme.test', ['customer']) });
      expect(res.body.data?.me).toMatchObject({ name: 'Clear Person 3', email: 'clear3@acme.test' });
      const dup = await sg.request(
        'mutation { inviteUser(input: { name: "Dup", email: "clear5@acme.test", roles: [STAFF] }) { id } }',
        { as: userCaller('acme', 'clear0@acme.test', ['admin']) },
      );
      expect(dup.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await sg.stop();
    }
  });
});

describe('`tollgate migrate` on a silo tenant’s clear data', () => {
  test('seals it in the silo database under the tenant’s key kept in the shared one, and the subgraph reads it there', async () => {
    const base = dbNameFor('msilo_accounts');
    const silo = siloDbName(base, 'acme');
    const users = client.getClient().db(silo).collection('users');
    await users.insertMany(
      Array.from({ length: 3 }, (_, i) => ({
        _id: new Types.ObjectId(userIdFor('acme', `silo${i}@acme.test`)),
        tenantId: 'acme',
        name: `Silo Person ${i}`,
        email: `silo${i}@acme.test`,
        roles: ['customer'],
        invitedAt: new Date(),
      })),
    );
    const sealed: Record<string, number> = {};
    const migrate = () =>
      migrateSilo({
        mongoUri: testMongoUri(),
        tenantId: 'acme',
        names: ['accounts'],
        dbNameFor: () => base,
        encryption,
        onEncrypted: (name, result) => (sealed[`${name}.${result.collection}`] = result.updated),
      });
    await migrate();
    expect(sealed).toEqual({ 'accounts.users': 3 });
    expect(JSON.stringify(await users.find({}).toArray())).not.toMatch(/silo person|silo\d@acme/i);
    // The data key is the shared database's; the silo has no key store of its own.
    const keys = client.getClient().db(base).collection(TENANT_KEYS_COLLECTION);
    expect(await keys.countDocuments({ _id: 'acme' as never })).toBe(1);
    const siloCollections = await client.getClient().db(silo).listCollections({}, { nameOnly: true }).toArray();
    expect(siloCollections.map((c) => c.name)).not.toContain(TENANT_KEYS_COLLECTION);
    await migrate();
    expect(sealed).toEqual({ 'accounts.users': 0 });

    const sg = await startTestSubgraph(accounts, { dbName: base, encryption });
    try {
      const res = await sg.request(ME, {
        as: userCaller('acme', 'silo1@acme.test', ['customer']),
        claims: { plc: { tier: 'silo', epoch: 1 } },
      });
      expect(res.body.data?.me).toMatchObject({ name: 'Silo Person 1', email: 'silo1@acme.test' });
    } finally {
      await sg.stop();
      await client.getClient().db(silo).dropDatabase();
    }
  });
});
