/**
 * Issue 18, acceptance 2 (its first half), on the real platform (four subgraphs on FerretDB, control plane, Redis,
 * gateway with the audit trail and metering on), with the `tollgate` CLI run in-process against it: after `tenant
 * erase`, a scan of every collection of every database of the platform finds no document with the tenant's id and
 * none of its sentinel strings — not its record (a pseudonymous tombstone replaces it), not its audit chain (sealed
 * into the `_platform` chain under the pseudonym, which still verifies, then deleted), not its usage rollups; its
 * Redis entries (APQ texts included) are gone; its tokens are refused with a code; another tenant's data is
 * untouched; a re-run is harmless and the id is not onboarded again.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { userIdFor } from '../../common/ids';
import { SUBGRAPH_NAMES } from '../../subgraphs/catalog';
import { runInScope } from '../../subgraphs/kit/scope';
import { closeRedisClient, createRedisClient } from '../../gateway/src/redis/connect';
import { openControlPlane } from '../../gateway/src/control-plane/open';
import { apqKey } from '../../gateway/src/persisted/apq';
import { operationId } from '../../gateway/src/persisted/manifest';
import { eventually } from '../support/eventually';
import { cliEnvFor, runCli } from './cli';
import { auditedGateway, startRealPlatform, type RealPlatform } from './platform';

jest.setTimeout(120_000);

let platform: RealPlatform;
let env: NodeJS.ProcessEnv;

const tollgate = (args: string[]) => runCli(env, args);

beforeAll(async () => {
  // The audit trail and metering on, as in production: the erasure must leave neither naming the tenant. The CLI
  // signs with the gateway's checkpoint key, so `tollgate audit verify` checks both against one public key.
  const { audit, keyFile } = auditedGateway(1_000);
  platform = await startRealPlatform({
    gateway: { audit, metering: { enabled: true, rollupIntervalMs: 0, quotaFailMode: 'open' } },
  });
  env = { ...cliEnvFor(platform), AUDIT_SIGNING_KEY_FILE: keyFile };
});

afterAll(async () => {
  await platform?.stop();
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
    // Its frontend registered an APQ text (which may hold its data as literals: here a sentinel), in its own space.
    const apqText = `query Mine { me { id } } # ${sentinel}`;
    const apqHash = operationId(apqText);
    const registered = await fetch(`${platform.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: apqText, extensions: { persistedQuery: { version: 1, sha256Hash: apqHash } } }),
    });
    expect(registered.status).toBe(200);
    expect(await tenantRedisKeys(victim)).toContain(apqKey(victim, apqHash));
    // Its requests left budget and usage entries in Redis; a rollup of an earlier hour is in the control plane.
    expect((await tenantRedisKeys(victim)).length).toBeGreaterThan(0);
    const control = await openControlPlane({ mongoUri: process.env.TEST_MONGODB_URI!, dbName: platform.controlDbName });
    try {
      await control.usage.writeHours(victim, [
        { hour: '2026120100', credential: 'jwt', operations: 3, costPoints: 9, responseBytes: 100, refusals: {} },
      ]);
    } finally {
      await control.close();
    }
    // Its checkpoints: the gateway signs one over the head it wrote within a second.
    await eventually(scan, (docs) =>
      docs.some((d) => d.collection === 'audit_checkpoints' && d.text.includes(`"${victim}"`)),
    );

    const before = await scan();
    // The id anywhere in a document (a field, an `_id` such as `globex:12`, a key), or a sentinel.
    const mentions = (text: string) => text.includes(victim) || hasSentinel(text);
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
    // Its mutations above are in its audit chain, and its record in the control plane.
    const chainBefore = before
      .filter((d) => d.collection === 'audit_events')
      .map((d) => JSON.parse(d.text) as { tenant: string; seq: number; hash: string })
      .filter((r) => r.tenant === victim);
    expect(chainBefore.length).toBeGreaterThan(0);
    expect(before.filter((d) => d.collection === 'tenants' && mentions(d.text))).toHaveLength(1);
    expect(before.filter((d) => d.collection === 'usage' && mentions(d.text)).length).toBeGreaterThan(0);
    const acmeBefore = before.filter((d) => d.text.includes('"acme"')).length;
    expect(acmeBefore).toBeGreaterThan(0);

    const run = await tollgate(['tenant', 'erase', victim, '--confirm', victim, '--settle', '0', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const receipt = JSON.parse(run.stdout) as {
      complete: boolean;
      pseudonym: string;
      subgraphs: { subgraph: string; collections: { collection: string; before: number; after: number }[] }[];
      redisKeys: number;
      usageRecords: number;
      dataKey: string;
      audit: {
        sealed?: { seq: number; hash: string; records: number };
        deleted: { events: number; checkpoints: number };
        platformRecord: { seq: number; hash: string };
      };
    };
    expect(receipt.complete).toBe(true);
    expect(receipt.pseudonym).toMatch(/^et_[0-9a-f]{64}$/);
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
    expect(receipt.usageRecords).toBeGreaterThan(0);
    // The chain was sealed at a head the scan saw (or a later one), then deleted whole.
    const sealed = receipt.audit.sealed!;
    expect(sealed.records).toBeGreaterThanOrEqual(chainBefore.length);
    const seen = chainBefore.find((r) => r.seq === sealed.seq);
    if (seen) expect(seen.hash).toBe(sealed.hash);
    expect(receipt.audit.deleted.events).toBe(sealed.records);
    expect(receipt.audit.deleted.checkpoints).toBeGreaterThan(0);

    const after = await scan();
    const where = (docs: typeof after) =>
      [...new Set(docs.map((d) => `${d.db.replace(/^e2e_[0-9a-f]+_/, '')}/${d.collection}`))].sort();
    // Nowhere: no tombstone naming it, no audit record, no usage rollup, no key, no manifest.
    expect(where(after.filter((d) => mentions(d.text)))).toEqual([]);
    // What is kept is kept under the pseudonym: the tombstone, and the erasure record in the platform's chain.
    expect(where(after.filter((d) => d.text.includes(receipt.pseudonym)))).toEqual([
      'control/audit_events',
      'control/erased_tenants',
    ]);
    expect(after.filter((d) => d.text.includes('"acme"'))).toHaveLength(acmeBefore);
    // Its APQ text with it (`{tenant}`-tagged, gateway/src/persisted/apq.ts).
    expect(await tenantRedisKeys(victim)).toEqual([]);

    // The platform's chain holds the erasure, under the pseudonym, with the sealed head and the counts, and verifies.
    const search = await tollgate(['audit', 'search', '--tenant', '_platform', '--type', 'control', '--json']);
    expect(search.code).toBe(0);
    const records = JSON.parse(search.stdout) as { seq: number; hash: string; action: string; details?: object }[];
    const erasure = records.find((r) => r.seq === receipt.audit.platformRecord.seq);
    expect(erasure).toMatchObject({
      hash: receipt.audit.platformRecord.hash,
      action: 'tenant erase',
      details: {
        subject: receipt.pseudonym,
        chainHeadSeq: sealed.seq,
        chainHeadHash: sealed.hash,
        chainRecords: sealed.records,
        dataKey: 'destroyed',
        documentsBefore: receipt.subgraphs.reduce((n, s) => n + s.collections.reduce((m, c) => m + c.before, 0), 0),
      },
    });
    const verify = await tollgate(['audit', 'verify', '--tenant', '_platform', '--json']);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    const verified = JSON.parse(verify.stdout) as { ok: boolean; head: { seq: number }; checkpoints: number };
    expect(verified.ok).toBe(true);
    expect(verified.head.seq).toBeGreaterThanOrEqual(receipt.audit.platformRecord.seq);
    expect(verified.checkpoints).toBeGreaterThan(0);

    // Refused with a code from then on: the tenant is unknown to every gateway (README, "403 … TENANT_UNKNOWN").
    const refused = await eventually(
      () => platform.graphql(admin, '{ me { id } }'),
      (result) => result.body.errors?.[0]?.extensions?.reason === 'TENANT_UNKNOWN',
    );
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'TENANT_UNKNOWN' });
    // Another tenant is served as before.
    const acme = await platform.graphql(await platform.token('acme', 'admin'), '{ me { email } }');
    expect(acme.body.data).toEqual({ me: { email: 'admin@acme.test' } });

    // Idempotent: a re-run finds nothing and still reports complete.
    const again = await tollgate(['tenant', 'erase', victim, '--confirm', victim, '--json']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as typeof receipt;
    expect(second.subgraphs.flatMap((s) => s.collections.map((c) => [c.before, c.after]))).toEqual(
      receipt.subgraphs.flatMap((s) => s.collections.map(() => [0, 0])),
    );
    expect(second.pseudonym).toBe(receipt.pseudonym);
    expect(second.audit.sealed).toBeUndefined();
    expect(second.audit.deleted).toEqual({ events: 0, checkpoints: 0 });
    // And the erased id cannot be onboarded again by mistake.
    const recreate = await tollgate(['tenant', 'create', victim, '--name', 'erased tenant']);
    expect(recreate).toMatchObject({
      code: 1,
      stderr: `tollgate: tenant ${victim} was erased; its id is not reused\n`,
    });
    // Nor did the refusals, the re-run or the refused creation bring its id back anywhere (the gateway flushes its
    // audit events every 250 ms and would have written a refusal of a known tenant by now).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(where((await scan()).filter((d) => mentions(d.text)))).toEqual([]);
  });

  it('refuses an erase whose --confirm does not repeat the id, changing nothing', async () => {
    const run = await tollgate(['tenant', 'erase', 'acme', '--confirm', 'acme2']);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe('tollgate: --confirm must repeat the tenant id');
    const acme = await platform.graphql(await platform.token('acme', 'admin'), '{ me { email } }');
    expect(acme.body.data).toEqual({ me: { email: 'admin@acme.test' } });
  });
});
