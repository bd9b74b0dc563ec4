import { randomUUID } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { chainEvent, hashRecord, verifyChain } from './chain';
import { GENESIS_HASH, type AuditEventInput, type AuditRecord, type Checkpoint } from './event';
import { checkpointSignedBy, createAuditSigner } from './signing';

const signer = createAuditSigner(
  generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
);

function event(i: number): AuditEventInput {
  return {
    id: randomUUID(),
    tenant: 'acme',
    time: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(),
    type: 'mutation',
    action: `op${i}`,
    actor: { principal: 'user-1', credential: 'jwt' },
    outcome: 'ok',
  };
}

function chain(n: number): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) records.push(chainEvent(event(i), records[records.length - 1]));
  return records;
}

const checkpointAt = (record: AuditRecord, kind: Checkpoint['kind'] = 'head') =>
  signer.sign({ tenant: 'acme', seq: record.seq, hash: record.hash, time: record.time, kind });

describe('the audit hash chain', () => {
  it('starts at seq 1 from the genesis hash and links every record to the previous one', () => {
    const records = chain(3);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0]!.prevHash).toBe(GENESIS_HASH);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(hashRecord(records[2]!)).toBe(records[2]!.hash);
  });

  it('verifies an untouched chain against its checkpoint', () => {
    const records = chain(5);
    expect(verifyChain(records, [checkpointAt(records[4]!)])).toEqual({
      ok: true,
      checked: 5,
      head: { seq: 5, hash: records[4]!.hash },
    });
  });

  it('names an edited record', () => {
    const records = chain(5);
    records[2] = { ...records[2]!, action: 'somethingElse' };
    expect(verifyChain(records, []).firstBad).toEqual({ seq: 3, problem: 'edited' });
  });

  it('names the first missing sequence number of a deleted record', () => {
    const records = chain(5);
    records.splice(1, 1);
    expect(verifyChain(records, []).firstBad).toEqual({ seq: 2, problem: 'missing' });
  });

  it('names a reordering: two records swapped seq numbers (re-sorted by seq, as the store reads them)', () => {
    const records = chain(5);
    const [a, b] = [records[1]!, records[2]!];
    const swapped = [records[0]!, { ...b, seq: 2 }, { ...a, seq: 3 }, records[3]!, records[4]!];
    expect(verifyChain(swapped, []).firstBad).toEqual({ seq: 2, problem: 'edited' });
  });

  it('names an insertion, even one whose inserted record is correctly hashed', () => {
    const records = chain(4);
    // Rewritten from seq 3 on with a valid hash for the intruder: the next original no longer links.
    const intruder = chainEvent(event(99), records[1]);
    const shifted = records.slice(2).map((r) => ({ ...r, seq: r.seq + 1 }));
    const result = verifyChain([records[0]!, records[1]!, intruder, ...shifted], []);
    expect(result.firstBad).toEqual({ seq: 4, problem: 'edited' });
  });

  it('names a rewritten tail that is internally consistent, through the signed checkpoint', () => {
    const records = chain(4);
    const checkpoint = checkpointAt(records[3]!);
    const rewritten = records.slice(0, 2);
    for (let i = 3; i <= 4; i++) rewritten.push(chainEvent(event(100 + i), rewritten[rewritten.length - 1]));
    expect(verifyChain(rewritten, [checkpoint]).firstBad).toEqual({ seq: 4, problem: 'checkpoint-mismatch' });
  });

  it('names a truncation only a checkpoint can show: the first seq after what is left', () => {
    const records = chain(6);
    const checkpoint = checkpointAt(records[5]!);
    expect(verifyChain(records.slice(0, 4), []).ok).toBe(true);
    expect(verifyChain(records.slice(0, 4), [checkpoint]).firstBad).toEqual({ seq: 5, problem: 'truncated' });
  });

  it('reports a checkpoint whose signature does not verify', () => {
    const records = chain(3);
    const forged = { ...checkpointAt(records[2]!), seq: 2, hash: records[1]!.hash };
    expect(checkpointSignedBy(forged, signer.publicKey)).toBe(false);
    expect(verifyChain(records, [], [forged]).firstBad).toEqual({ seq: 2, problem: 'bad-checkpoint' });
  });

  it('resumes after a retention cut: pruned records are not missing, and what is left still chains', () => {
    const records = chain(6);
    const cut = checkpointAt(records[2]!, 'cut');
    expect(verifyChain(records.slice(3), [cut])).toMatchObject({ ok: true, checked: 3 });
    // A half-finished prune: the record at the cut is still there and must carry the cut's hash.
    expect(verifyChain(records.slice(2), [cut])).toMatchObject({ ok: true, checked: 3 });
    // Without the cut, the same records are a deletion.
    expect(verifyChain(records.slice(3), []).firstBad).toEqual({ seq: 1, problem: 'missing' });
  });
});
