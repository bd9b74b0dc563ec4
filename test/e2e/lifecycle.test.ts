/**
 * Issue 18, acceptance 5, on the real platform (four subgraphs on FerretDB, control plane, Redis, gateway), with the
 * `tollgate` CLI run in-process against it:
 * - onboarding: `tenant create … --admin-email … --admin-name …` makes a tenant whose admin's token runs `me` and
 *   creates a product; a re-run changes nothing;
 * - the platform API refuses every call but a platform token's;
 * - retention: `tenant sweep` deletes what is older than the tenant's rule, only that, idempotently.
 * Erasure (acceptance 2, its first half) is lifecycle-erase.test.ts's, on a platform with the audit trail on.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { userIdFor } from '../../common/ids';
import type { SubgraphName } from '../../subgraphs/catalog';
import { deriveSubgraphKey, hashQuery, mintInternalToken } from '../../common/internal-token';
import {
  PLATFORM_TOKEN_HEADER,
  hashBody,
  mintPlatformToken,
  platformAudience,
  platformKeyFromSecret,
  type PlatformOperation,
} from '../../common/platform-token';
import { eventually } from '../support/eventually';
import { cliEnvFor, runCli } from './cli';
import { startRealPlatform, type RealPlatform } from './platform';

jest.setTimeout(120_000);

let platform: RealPlatform;
let env: NodeJS.ProcessEnv;

const tollgate = (args: string[]) => runCli(env, args);

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
