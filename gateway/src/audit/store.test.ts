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
