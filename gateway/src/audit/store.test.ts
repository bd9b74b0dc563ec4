/**
 * The ordering arbiter against the real database (FerretDB): writers on separate connections appending to one
 * tenant's chain at the same time lose races for a seq to each other (the unique key says so), re-chain, and leave
 * one chain that holds every event once and verifies.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { verifyChain } from './chain';
import type { AuditEventInput, AuditRecord } from './event';
import { AuditStore } from './store';

const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const dbName = `tollgate_audit_store_test_${randomBytes(6).toString('hex')}`;
const stores: AuditStore[] = [];

afterAll(async () => {
  await stores[0]?.connection.dropDatabase();
  await Promise.all(stores.map((s) => s.close()));
});

const event = (writer: number, n: number): AuditEventInput => ({
  id: randomUUID(),
  tenant: 'acme',
  time: new Date().toISOString(),
  type: 'mutation',
  action: `W${writer}-${n}`,
  actor: { principal: `writer-${writer}`, credential: 'jwt' },
  outcome: 'ok',
});

describe('concurrent writers on one chain', () => {
  it('re-chain on a lost race and leave one verifiable chain with every event once, each writer in its order', async () => {
    stores.push(...(await Promise.all([0, 1, 2].map(() => AuditStore.open({ mongoUri, dbName, indexes: 'create' })))));
    const BATCHES = 15;
    await Promise.all(
      stores.map(async (store, writer) => {
        for (let n = 0; n < BATCHES; n++) await store.append('acme', [event(writer, 2 * n), event(writer, 2 * n + 1)]);
      }),
    );
    const records: AuditRecord[] = [];
    for await (const record of stores[0]!.records('acme')) records.push(record);
    expect(records).toHaveLength(3 * BATCHES * 2);
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    expect(verifyChain(records, [])).toMatchObject({ ok: true, checked: records.length });
    for (let writer = 0; writer < 3; writer++) {
      const own = records.filter((r) => r.actor.principal === `writer-${writer}`).map((r) => r.action);
      expect(own).toEqual(Array.from({ length: BATCHES * 2 }, (_, n) => `W${writer}-${n}`));
    }
    // The race did happen: some inserts found their seq taken and were re-chained.
    expect(stores.reduce((sum, s) => sum + s.conflicts, 0)).toBeGreaterThan(0);
  });
});

describe('deleting a chain (tenant erasure)', () => {
  it('deletes every record and checkpoint of the tenant in bounded batches, no other tenant’s, idempotently', async () => {
    const store = await AuditStore.open({ mongoUri, dbName, indexes: 'create' });
    stores.push(store);
    const of = (tenant: string, n: number): AuditEventInput => ({ ...event(9, n), tenant });
    await store.append(
      'erased-co',
      Array.from({ length: 7 }, (_, n) => of('erased-co', n)),
    );
    await store.append('kept-co', [of('kept-co', 0), of('kept-co', 1)]);
    const head = (await store.head('erased-co'))!;
    const checkpoint = { seq: head.seq, hash: head.hash, time: new Date().toISOString(), kind: 'head' as const };
    await store.addCheckpoint({ ...checkpoint, tenant: 'erased-co', keyId: 'k', signature: 's' });
    await store.addCheckpoint({ ...checkpoint, tenant: 'kept-co', keyId: 'k', signature: 's' });
    expect(await store.count('erased-co')).toBe(7);

    // Batches of 3: seven records take three rounds, and all go.
    expect(await store.deleteChain('erased-co', 3)).toEqual({ events: 7, checkpoints: 1 });
    expect(await store.count('erased-co')).toBe(0);
    expect(await store.head('erased-co')).toBeUndefined();
    expect(await store.checkpoints('erased-co')).toEqual([]);
    expect(await store.count('kept-co')).toBe(2);
    expect(await store.checkpoints('kept-co')).toHaveLength(1);
    expect(await store.deleteChain('erased-co', 3)).toEqual({ events: 0, checkpoints: 0 });
    // The store forgot the head it cached: a new chain under that id would start at 1, not after the deleted one.
    await store.append('erased-co', [of('erased-co', 99)]);
    expect((await store.head('erased-co'))!.seq).toBe(1);
  });
});
