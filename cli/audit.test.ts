/**
 * `tollgate audit verify` against a real trail in the test MongoDB (FerretDB): every kind of tampering, done to the
 * stored documents the way someone with write access to the database would, makes verify exit 1 naming the first
 * bad sequence number; an untouched chain, and one pruned by retention, verify clean. Control-plane changes made with
 * the CLI land in the trail with the operator's identity and nothing secret.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { chainEvent } from '../gateway/src/audit/chain';
import type { AuditEventInput, AuditRecord } from '../gateway/src/audit/event';
import { createAuditSigner } from '../gateway/src/audit/signing';
import { AUDIT_CHECKPOINTS, AUDIT_EVENTS, AuditStore } from '../gateway/src/audit/store';
import { runTollgate } from './commands';

const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const dbName = `tollgate_audit_test_${randomBytes(6).toString('hex')}`;
const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-audit-')), 'audit-key.pem');
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
writeFileSync(keyFile, signingKey, { mode: 0o600 });
const signer = createAuditSigner(signingKey);
const env = {
  MONGODB_URI: mongoUri,
  CONTROL_DB: dbName,
  REDIS_URL: process.env.TEST_REDIS_URL ?? '',
  AUDIT_SIGNING_KEY_FILE: keyFile,
  TOLLGATE_OPERATOR: 'ops-alice',
};

async function tollgate(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

let store: AuditStore;
let db: Connection;
const events = () => db.collection<AuditRecord & { _id: string }>(AUDIT_EVENTS);

function event(tenant: string, i: number, time = new Date()): AuditEventInput {
  return {
    id: randomUUID(),
    tenant,
    time: time.toISOString(),
    type: 'mutation',
    action: `Op${i}`,
    actor: { principal: 'user-1', credential: 'jwt' },
    outcome: 'ok',
    requestId: `req-${i}`,
  };
}

/** A chain of `n` events with a signed checkpoint over its head. */
async function seed(tenant: string, n: number): Promise<void> {
  const head = await store.append(
    tenant,
    Array.from({ length: n }, (_, i) => event(tenant, i + 1)),
  );
  await store.addCheckpoint(signer.sign({ tenant, seq: head!.seq, hash: head!.hash, time: head!.time, kind: 'head' }));
}

async function verify(tenant: string) {
  return tollgate('audit', 'verify', '--tenant', tenant);
}

beforeAll(async () => {
  store = await AuditStore.open({ mongoUri, dbName, indexes: 'create' });
  db = await mongoose.createConnection(mongoUri, { dbName }).asPromise();
  expect((await tollgate('migrate', '--only', 'control-plane')).code).toBe(0);
});

afterAll(async () => {
  await store?.close();
  await db?.dropDatabase();
  await db?.close();
});

describe('audit verify', () => {
  it('verifies an untouched chain, naming its head and checkpoints', async () => {
    await seed('clean', 12);
    const run = await verify('clean');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('The audit chain of clean verifies: 12 events, head 12, 1 signed checkpoints.');
  });

  it('fails on an edited event, naming it', async () => {
    await seed('edited', 10);
    await events().updateOne({ tenant: 'edited', seq: 6 }, { $set: { outcome: 'error' } });
    const run = await verify('edited');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('first bad sequence number 6 (edited)');
  });

  it('fails on a deleted event, naming the missing sequence number', async () => {
    await seed('deleted', 10);
    await events().deleteOne({ tenant: 'deleted', seq: 4 });
    const run = await verify('deleted');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('first bad sequence number 4 (missing)');
  });

  it('fails on reordered events (two swapped places), naming the first', async () => {
    await seed('reordered', 10);
    const [a, b] = [await store.recordAt('reordered', 3), await store.recordAt('reordered', 7)];
    // Each document takes the other's place in the sequence; their content, hashes included, is left as it was.
    await events().deleteMany({ tenant: 'reordered', seq: { $in: [3, 7] } });
    await events().insertMany([
      { ...b!, seq: 3, _id: 'reordered:3' },
      { ...a!, seq: 7, _id: 'reordered:7' },
    ]);
    const run = await verify('reordered');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('first bad sequence number 3');
  });

  it('fails on an inserted event, even one hashed and linked correctly, naming where the chain breaks', async () => {
    await seed('inserted', 8);
    // The intruder is chained properly after seq 5; every later document is moved one place up.
    const fifth = await store.recordAt('inserted', 5);
    const intruder = chainEvent(event('inserted', 99), fifth);
    const later = await events()
      .find({ tenant: 'inserted', seq: { $gt: 5 } })
      .sort({ seq: -1 })
      .toArray();
    for (const doc of later) {
      await events().deleteOne({ _id: doc._id });
      await events().insertOne({ ...doc, seq: doc.seq + 1, _id: `inserted:${doc.seq + 1}` });
    }
    await events().insertOne({ ...intruder, _id: 'inserted:6' });
    const run = await verify('inserted');
    expect(run.code).toBe(1);
    // Seq 6 (the intruder) is a valid link; the original sixth, now at 7, no longer is.
    expect(run.stderr).toContain('first bad sequence number 7');
  });

  it('fails on a truncated chain through the last signed checkpoint, naming the first lost number', async () => {
    await seed('truncated', 10);
    await events().deleteMany({ tenant: 'truncated', seq: { $gt: 7 } });
    const run = await verify('truncated');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('first bad sequence number 8 (truncated)');
  });

  it('fails on a forged checkpoint (signed by another key)', async () => {
    await seed('forged', 5);
    const other = createAuditSigner(
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    const head = await store.recordAt('forged', 5);
    await db
      .collection(AUDIT_CHECKPOINTS)
      .insertOne(other.sign({ tenant: 'forged', seq: 9, hash: head!.hash, time: head!.time, kind: 'head' }));
    const run = await verify('forged');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('first bad sequence number 9 (bad-checkpoint)');
  });

  it('verifies with the exported public key alone', async () => {
    const exported = await tollgate('audit', 'public-key');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(signer.publicKeyPem());
    const publicFile = join(mkdtempSync(join(tmpdir(), 'tollgate-audit-pub-')), 'audit.pub');
    writeFileSync(publicFile, exported.stdout);
    const run = await runTollgate(['audit', 'verify', '--tenant', 'clean', '--public-key', publicFile], {
      stdout: () => undefined,
      stderr: () => undefined,
      env: { ...env, AUDIT_SIGNING_KEY_FILE: '' },
    });
    expect(run).toBe(0);
  });
});

describe('audit retention', () => {
  it("prunes events past the tenant's plan with a signed cut: the rest still verifies, and an edit after the cut still fails", async () => {
    const day = 86_400_000;
    const old = Array.from({ length: 30 }, (_, i) => event('oldco', i + 1, new Date(Date.now() - (60 - i) * day)));
    const recent = Array.from({ length: 5 }, (_, i) => event('oldco', 100 + i, new Date(Date.now() - (4 - i) * day)));
    await store.append('oldco', [...old, ...recent]);
    // The tenant itself (its plan says how long it keeps events): its creation is event 36, today.
    expect((await tollgate('tenant', 'create', 'oldco', '--name', 'Old Co', '--plan', 'free')).code).toBe(0);
    const pruned = await tollgate('audit', 'prune', '--tenant', 'oldco', '--json');
    expect(pruned.code).toBe(0);
    // free keeps 30 days: the 30 events 60..31 days old go.
    const cutSeq = 30;
    expect(JSON.parse(pruned.stdout)).toEqual([{ tenant: 'oldco', cutSeq, deleted: 30 }]);
    expect(await store.page('oldco', {}, 100)).toHaveLength(6);
    expect(await verify('oldco')).toMatchObject({ code: 0 });
    await events().updateOne({ tenant: 'oldco', seq: cutSeq + 2 }, { $set: { action: 'Other' } });
    expect((await verify('oldco')).stderr).toContain(`first bad sequence number ${cutSeq + 2} (edited)`);
  });
});

describe('control-plane changes', () => {
  it('are recorded per tenant with the operator, never with a key', async () => {
    expect((await tollgate('tenant', 'create', 'cpco', '--name', 'CP Co', '--plan', 'pro')).code).toBe(0);
    expect((await tollgate('tenant', 'suspend', 'cpco')).code).toBe(0);
    expect((await tollgate('plan', 'set', 'pro', '--max-cost', '2500')).code).toBe(0);
    const tail = JSON.parse((await tollgate('audit', 'tail', '--tenant', 'cpco', '--json')).stdout) as AuditRecord[];
    expect(tail.map((r) => [r.type, r.action, r.actor.principal, r.actor.credential])).toEqual([
      ['control', 'tenant create', 'ops-alice', 'operator'],
      ['control', 'tenant suspend', 'ops-alice', 'operator'],
    ]);
    expect(tail[1]!.details).toEqual({ status: 'suspended' });
    const platform = JSON.parse(
      (await tollgate('audit', 'search', '--tenant', '_platform', '--type', 'control', '--json')).stdout,
    ) as AuditRecord[];
    expect(platform.at(-1)).toMatchObject({ action: 'plan set', details: { plan: 'pro', maxCost: 2500 } });
    expect(await verify('cpco')).toMatchObject({ code: 0 });
    expect(await verify('_platform')).toMatchObject({ code: 0 });
  });

  it('export streams NDJSON filtered by type and actor', async () => {
    const run = await tollgate('audit', 'export', '--tenant', 'cpco', '--actor', 'ops-alice', '--type', 'control');
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    expect(lines.map((r) => r.seq)).toEqual([1, 2]);
    expect(lines.every((r) => typeof r.hash === 'string' && r.hash.length === 64)).toBe(true);
  });
});
