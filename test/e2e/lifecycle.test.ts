/**
 * Issue 18, acceptance 5 and the first half of 2, on the real platform (four subgraphs on FerretDB, control plane,
 * Redis, gateway), with the `tollgate` CLI run in-process against it:
 * - onboarding: `tenant create … --admin-email … --admin-name …` makes a tenant whose admin's token runs `me` and
 *   creates a product; a re-run changes nothing;
 * - retention: `tenant sweep` deletes what is older than the tenant's rule, only that, idempotently;
 * - erase: after `tenant erase`, a scan of every collection of every database of the platform finds no document
 *   with the tenant's id (but its tombstone, which holds nothing it gave us) and none of its sentinel strings; its
 *   Redis entries are gone; its tokens are refused with a code; another tenant's data is untouched; a re-run is
 *   harmless.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { userIdFor } from '../../common/ids';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../subgraphs/catalog';
import { deriveSubgraphKey, hashQuery, mintInternalToken } from '../../common/internal-token';
import {
  PLATFORM_TOKEN_HEADER,
  hashBody,
  mintPlatformToken,
  platformAudience,
  platformKeyFromSecret,
  type PlatformOperation,
} from '../../common/platform-token';
import { runInScope } from '../../subgraphs/kit/scope';
import { closeRedisClient, createRedisClient } from '../../gateway/src/redis/connect';
import { cliEnvFor, runCli } from './cli';
import { startRealPlatform, type RealPlatform } from './platform';

jest.setTimeout(120_000);

let platform: RealPlatform;
let env: NodeJS.ProcessEnv;

const tollgate = (args: string[]) => runCli(env, args);

/** Polls until `check` passes: the gateway learns control-plane changes asynchronously (within 5 s). */
async function eventually<T>(attempt: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const until = Date.now() + 15_000;
  for (;;) {
    const value = await attempt();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  platform = await startRealPlatform();
  env = cliEnvFor(platform);
});

afterAll(async () => {
  await platform?.stop();
});

describe('onboarding', () => {
  const tenant = `onb-${randomBytes(3).toString('hex')}`;
  const email = `boss@${tenant}.test`;

  it('creates the tenant and its first admin, whose token runs me and creates a product; a re-run changes nothing', async () => {
    const args = ['tenant', 'create', tenant, '--plan', 'pro', '--admin-email', email, '--admin-name', 'Bill Lumbergh'];
    const first = await tollgate([...args, '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const created = JSON.parse(first.stdout) as { created: boolean; admin: { userId: string; created: boolean } };
    expect(created).toMatchObject({ created: true, admin: { userId: userIdFor(tenant, email), created: true } });

    const again = await tollgate([...args, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      created: false,
      admin: { userId: created.admin.userId, created: false },
    });
    const users = platform.subgraphs.accounts.connection.db!.collection('users');
    expect(await users.countDocuments({ tenantId: tenant })).toBe(1);

    // The same id with another plan is refused, not merged.
    const other = await tollgate(['tenant', 'create', tenant, '--plan', 'free']);
    expect(other).toMatchObject({ code: 1, stderr: `tollgate: tenant ${tenant} already exists with another plan\n` });

    const token = await platform.issuer.sign({ tenant, sub: created.admin.userId, roles: ['admin'] });
    const me = await eventually(
      () => platform.graphql(token, '{ me { id email name roles } }'),
      (result) => result.status === 200,
    );
    expect(me.body.errors).toBeUndefined();
    expect(me.body.data).toEqual({ me: { id: created.admin.userId, email, name: 'Bill Lumbergh', roles: ['ADMIN'] } });
    const product = await platform.graphql(
      token,
      'mutation { createProduct(input: { sku: "STAPLER-1", name: "Red stapler", price: 1299, weight: 300 }) { sku name } }',
    );
    expect(product.body.errors).toBeUndefined();
    expect(product.body.data).toEqual({ createProduct: { sku: 'STAPLER-1', name: 'Red stapler' } });
  });

  it('refuses a bad admin address with the subgraph’s message and creates no user', async () => {
    const bad = `bad-${randomBytes(3).toString('hex')}`;
    const run = await tollgate(['tenant', 'create', bad, '--admin-email', 'not-an-address', '--admin-name', 'X']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('tollgate: accounts provision: email is not a valid e-mail address (400 BAD_USER_INPUT)\n');
    const users = platform.subgraphs.accounts.connection.db!.collection('users');
    expect(await users.countDocuments({ tenantId: bad })).toBe(0);
  });
});

describe('erase', () => {
  const sentinel = `SENTINEL${randomBytes(6).toString('hex').toUpperCase()}`;
  const hasSentinel = (text: string) => text.toLowerCase().includes(sentinel.toLowerCase());
  const victim = 'globex';

  /** Every document of every collection of every database of the platform, as EJSON text. */
  async function scan(): Promise<{ db: string; collection: string; text: string }[]> {
    const connection = await mongoose.createConnection(process.env.TEST_MONGODB_URI!).asPromise();
    const found: { db: string; collection: string; text: string }[] = [];
    try {
      for (const dbName of platform.dbNames) {
        const db = connection.useDb(dbName, { useCache: true }).db!;
        for (const { name } of await db.listCollections().toArray()) {
          for await (const doc of db.collection(name).find({})) {
            found.push({ db: dbName, collection: name, text: mongoose.mongo.BSON.EJSON.stringify(doc) });
          }
        }
      }
    } finally {
      await connection.close();
    }
    return found;
  }

  async function tenantRedisKeys(tenant: string): Promise<string[]> {
    const client = createRedisClient(process.env.TEST_REDIS_URL!, {
      enableOfflineQueue: true,
      connectTimeoutMs: 2_000,
      retryStrategy: () => null,
    });
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', `*{${tenant}}*`, 'COUNT', 500);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      return keys;
    } finally {
      await closeRedisClient(client);
    }
  }

  it('leaves no document with the tenant’s id or its sentinels anywhere, and answers a receipt', async () => {
    const admin = await platform.token(victim, 'admin');
    // Sentinels in every subgraph: a user, a product (with its stock), a review.
    const invited = await platform.graphql(
      admin,
      `mutation { inviteUser(input: { name: "${sentinel} Name", email: "${sentinel.toLowerCase()}@mail.test", roles: [CUSTOMER] }) { id } }`,
    );
    expect(invited.body.errors).toBeUndefined();
    const product = await platform.graphql(
      admin,
      `mutation { createProduct(input: { sku: "${sentinel}", name: "${sentinel} product", price: 1, weight: 1 }) { id } }`,
    );
    expect(product.body.errors).toBeUndefined();
    const productId = (product.body.data!.createProduct as { id: string }).id;
    await runInScope({ tenantId: victim, principal: 'test', roles: [], requestId: 'seed' }, async () => {
      const { Review } = platform.subgraphs.reviews.connection.models as Record<string, mongoose.Model<unknown>>;
      await Review!.create({
        productId: new mongoose.Types.ObjectId(productId),
        authorId: new mongoose.Types.ObjectId(userIdFor(victim, `admin@${victim}.test`)),
        rating: 5,
        body: `${sentinel} review body`,
      });
      const { Stock } = platform.subgraphs.inventory.connection.models as Record<string, mongoose.Model<unknown>>;
      await Stock!.create({ productId: new mongoose.Types.ObjectId(productId), quantity: 7 });
    });
    // Its requests left budget entries in Redis.
    expect((await tenantRedisKeys(victim)).length).toBeGreaterThan(0);

    const before = await scan();
    const mentions = (text: string) => text.includes(`"${victim}"`) || hasSentinel(text);
    // The invited user's name and e-mail are sealed at rest (subgraphs/kit/encryption): the raw text has no
    // sentinel, its documents carry the tenant's id, and its data key is in `tenant_keys`. The review written
    // straight through the model (not the resolver, which seals) and the product keep theirs in clear.
    expect(
      before
        .filter((d) => hasSentinel(d.text))
        .map((d) => d.collection)
        .sort(),
    ).toEqual(['products', 'reviews']);
    expect(before.filter((d) => d.collection === 'users' && d.text.includes(`"${victim}"`)).length).toBeGreaterThan(1);
    expect(
      before.filter((d) => d.collection === 'tenant_keys' && d.text.includes(`"${victim}"`)).length,
    ).toBeGreaterThan(0);
    const acmeBefore = before.filter((d) => d.text.includes('"acme"')).length;
    expect(acmeBefore).toBeGreaterThan(0);

    const run = await tollgate(['tenant', 'erase', victim, '--confirm', victim, '--settle', '0', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const receipt = JSON.parse(run.stdout) as {
      complete: boolean;
      subgraphs: { subgraph: string; collections: { collection: string; before: number; after: number }[] }[];
      redisKeys: number;
      dataKey: string;
    };
    expect(receipt.complete).toBe(true);
    // Crypto-shredding: the tenant's keys were destroyed in the encrypting subgraphs.
    expect(receipt.dataKey).toBe('destroyed');
    expect(receipt.subgraphs.map((s) => s.subgraph)).toEqual([...SUBGRAPH_NAMES]);
    for (const { collections } of receipt.subgraphs) {
      for (const c of collections) {
        expect(c.after).toBe(0);
        expect(c.before).toBeGreaterThan(0);
      }
    }
    expect(receipt.redisKeys).toBeGreaterThan(0);

    const after = await scan();
    const left = after.filter((d) => mentions(d.text));
    // Only the tombstone — the tenant record, suspended, holding no name or origin it gave us — and the tenant's
    // audit trail (gateway/src/audit), kept by design until its retention ends: the record of what was done,
    // erasure included, must outlive the data; it holds ids and HMACs, no sentinel (checked here) and no personal
    // data (the audit tests scan for it).
    const places = [...new Set(left.map((d) => `${d.db.replace(/^e2e_[0-9a-f]+_/, '')}/${d.collection}`))].sort();
    expect(places.filter((place) => place !== 'control/audit_events')).toEqual(['control/tenants']);
    expect(left.filter((d) => d.collection === 'audit_events' && hasSentinel(d.text))).toEqual([]);
    const tombstone = JSON.parse(left.find((d) => d.collection === 'tenants')!.text) as Record<string, unknown>;
    expect(tombstone).toMatchObject({ _id: victim, status: 'suspended', name: 'erased tenant', origins: [] });
    expect(after.filter((d) => d.text.includes('"acme"'))).toHaveLength(acmeBefore);
    expect(await tenantRedisKeys(victim)).toEqual([]);

    // Refused with a code from then on.
    const refused = await eventually(
      () => platform.graphql(admin, '{ me { id } }'),
      (result) => result.status === 403,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'TENANT_SUSPENDED' });
    // Another tenant is served as before.
    const acme = await platform.graphql(await platform.token('acme', 'admin'), '{ me { email } }');
    expect(acme.body.data).toEqual({ me: { email: 'admin@acme.test' } });

    // Idempotent: a re-run finds nothing and still reports complete.
    const again = await tollgate(['tenant', 'erase', victim, '--confirm', victim, '--json']);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as typeof receipt;
    expect(second.subgraphs.flatMap((s) => s.collections.map((c) => [c.before, c.after]))).toEqual(
      receipt.subgraphs.flatMap((s) => s.collections.map(() => [0, 0])),
    );
    // And the erased id cannot be onboarded again by mistake.
    const recreate = await tollgate(['tenant', 'create', victim, '--name', 'erased tenant']);
    expect(recreate).toMatchObject({
      code: 1,
      stderr: `tollgate: tenant ${victim} was erased; its id is not reused\n`,
    });
  });

  it('refuses an erase whose --confirm does not repeat the id, changing nothing', async () => {
    const run = await tollgate(['tenant', 'erase', 'acme', '--confirm', 'acme2']);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe('tollgate: --confirm must repeat the tenant id');
    const acme = await platform.graphql(await platform.token('acme', 'admin'), '{ me { email } }');
    expect(acme.body.data).toEqual({ me: { email: 'admin@acme.test' } });
  });
});

describe('the platform API refuses anything but a platform token for this subgraph, operation, tenant and body', () => {
  const post = (subgraph: SubgraphName, op: string, headers: Record<string, string>, body: string) =>
    fetch(new URL(`/_platform/${op}`, platform.subgraphs[subgraph].url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const sign = (subgraph: SubgraphName, op: PlatformOperation, tenant: string, body: string) => {
    const now = Date.now();
    return mintPlatformToken(platformKeyFromSecret(platform.internalSecret, subgraph), {
      kind: 'platform',
      aud: platformAudience(subgraph),
      op,
      ten: tenant,
      bh: hashBody(body),
      rid: 'test',
      iat: now,
      exp: now + 30_000,
    });
  };
  const acmeUsers = () =>
    platform.subgraphs.accounts.connection.db!.collection('users').countDocuments({ tenantId: 'acme' });

  it('refuses replays and forgeries with 401 UNAUTHENTICATED and erases nothing', async () => {
    const count = await acmeUsers();
    expect(count).toBeGreaterThan(0);
    const body = JSON.stringify({ tenant: 'acme' });
    const now = Date.now();
    // A gateway request token, valid for this subgraph, replayed as a platform call.
    const gatewayToken = mintInternalToken(deriveSubgraphKey(platform.internalSecret, 'accounts'), {
      kind: 'op',
      aud: 'accounts',
      ten: 'acme',
      sub: userIdFor('acme', 'admin@acme.test'),
      roles: ['admin'],
      qh: hashQuery(body),
      rid: 'r',
      iat: now,
      exp: now + 30_000,
    });
    const attempts: [string, Promise<Response>][] = [
      ['no token', post('accounts', 'erase', {}, body)],
      ['a gateway token', post('accounts', 'erase', { [PLATFORM_TOKEN_HEADER]: gatewayToken }, body)],
      [
        'another subgraph’s',
        post('accounts', 'erase', { [PLATFORM_TOKEN_HEADER]: sign('products', 'erase', 'acme', body) }, body),
      ],
      [
        'another operation’s',
        post('accounts', 'erase', { [PLATFORM_TOKEN_HEADER]: sign('accounts', 'stats', 'acme', body) }, body),
      ],
      [
        'another body',
        post(
          'accounts',
          'erase',
          { [PLATFORM_TOKEN_HEADER]: sign('accounts', 'erase', 'acme', body) },
          JSON.stringify({ tenant: 'acme', x: 1 }),
        ),
      ],
    ];
    for (const [name, attempt] of attempts) {
      const res = await attempt;
      expect([name, res.status, await res.json()]).toEqual([
        name,
        401,
        { errors: [{ message: 'Unauthorized', extensions: { code: 'UNAUTHENTICATED' } }] },
      ]);
    }
    // The body must name the token's tenant.
    const other = JSON.stringify({ tenant: 'globex' });
    const mismatch = await post(
      'accounts',
      'erase',
      { [PLATFORM_TOKEN_HEADER]: sign('accounts', 'erase', 'acme', other) },
      other,
    );
    expect(mismatch.status).toBe(400);
    // A platform token is no gateway token either.
    const graphql = await fetch(platform.subgraphs.accounts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'tollgate-context': sign('accounts', 'stats', 'acme', body) },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(graphql.status).toBe(401);
    expect(await acmeUsers()).toBe(count);
  });

  it('refuses an import batch with an invalid document with 400 and no document text', async () => {
    const target = `imp-${randomBytes(3).toString('hex')}`;
    const valid = {
      _id: { $oid: randomBytes(12).toString('hex') },
      productId: { $oid: randomBytes(12).toString('hex') },
    };
    const documents = JSON.stringify([
      { ...valid, authorId: valid.productId, rating: 4, body: 'fine' },
      {
        _id: { $oid: randomBytes(12).toString('hex') },
        productId: valid.productId,
        authorId: valid.productId,
        rating: 9,
        body: 'SECRET-BODY',
      },
    ]);
    const placement = { tier: 'pooled', epoch: 0 }; // as the CLI names it for a new tenant
    const body = JSON.stringify({ tenant: target, placement, collection: 'reviews', sourceTenant: 'acme', documents });
    const res = await post(
      'reviews',
      'import',
      { [PLATFORM_TOKEN_HEADER]: sign('reviews', 'import', target, body) },
      body,
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      errors: [{ message: 'A document failed validation', extensions: { code: 'BAD_USER_INPUT' } }],
    });
    const reviews = platform.subgraphs.reviews.connection.db!.collection('reviews');
    expect(await reviews.countDocuments({ tenantId: target, body: 'SECRET-BODY' })).toBe(0);
  });
});

describe('retention', () => {
  const DAY = 86_400_000;
  const reviews = () => platform.subgraphs.reviews.connection.db!.collection('reviews');

  async function seedReviews(tenantId: string, ageDays: number, count: number, marker: string) {
    const seconds = Math.floor((Date.now() - ageDays * DAY) / 1000);
    await reviews().insertMany(
      Array.from({ length: count }, () => ({
        // That creation time, and random bytes after it (createFromTime leaves them zero).
        _id: new mongoose.Types.ObjectId(
          Buffer.concat([
            mongoose.Types.ObjectId.createFromTime(seconds - Math.floor(Math.random() * 1000)).id.subarray(0, 4),
            randomBytes(8),
          ]),
        ),
        tenantId,
        productId: new mongoose.Types.ObjectId(),
        authorId: new mongoose.Types.ObjectId(),
        rating: 3,
        body: marker,
      })),
    );
  }

  it('deletes the documents older than the tenant’s rule, only those, idempotently', async () => {
    const marker = `retention-${randomBytes(4).toString('hex')}`;
    const other = `keep-${randomBytes(3).toString('hex')}`;
    await seedReviews('acme', 45, 30, `${marker}-old`);
    await seedReviews('acme', 5, 4, `${marker}-new`);
    await seedReviews(other, 45, 6, `${marker}-other`);
    const file = join(mkdtempSync(join(tmpdir(), 'retention-')), 'retention.json');
    writeFileSync(file, JSON.stringify({ plans: { pro: { reviews: '365d' } }, tenants: { acme: { reviews: '30d' } } }));
    env.RETENTION_FILE = file;
    // acme's demo reviews may be old too: every review of acme older than 30 days goes, whoever wrote it.
    const bound = mongoose.Types.ObjectId.createFromTime(Math.floor((Date.now() - 30 * DAY) / 1000));
    const old = await reviews().countDocuments({ tenantId: 'acme', _id: { $lt: bound } });
    expect(old).toBeGreaterThanOrEqual(30);
    try {
      const run = await tollgate(['tenant', 'sweep', '--tenant', 'acme', '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([
        {
          tenant: 'acme',
          collections: [{ subgraph: 'reviews', collection: 'reviews', maxAgeMs: 30 * DAY, deleted: old }],
        },
      ]);
      // One log line per tenant for the job's log collector.
      const log = JSON.parse(run.stderr.trim()) as Record<string, unknown>;
      expect(log).toMatchObject({ msg: 'retention sweep', job: 'retention-sweep', tenant: 'acme' });
      expect(await reviews().countDocuments({ body: `${marker}-old` })).toBe(0);
      expect(await reviews().countDocuments({ tenantId: 'acme', _id: { $lt: bound } })).toBe(0);
      expect(await reviews().countDocuments({ body: `${marker}-new` })).toBe(4);
      expect(await reviews().countDocuments({ body: `${marker}-other` })).toBe(6);

      // Every tenant, again: nothing left to delete for acme.
      const again = await tollgate(['tenant', 'sweep', '--json']);
      expect(again.code).toBe(0);
      const sweeps = JSON.parse(again.stdout) as { tenant: string; collections: { deleted: number }[] }[];
      expect(sweeps.find((s) => s.tenant === 'acme')!.collections.map((c) => c.deleted)).toEqual([0]);
      expect(await reviews().countDocuments({ body: `${marker}-new` })).toBe(4);

      // A rule on a collection whose age is unknown (user ids are derived, not minted) is refused by the subgraph.
      writeFileSync(file, JSON.stringify({ tenants: { acme: { users: '1d' } } }));
      const refused = await tollgate(['tenant', 'sweep', '--tenant', 'acme']);
      expect(refused).toMatchObject({
        code: 1,
        stderr: 'tollgate: accounts sweep: a rule names a collection retention cannot sweep (400 BAD_USER_INPUT)\n',
      });
    } finally {
      delete env.RETENTION_FILE;
    }
  });
});
