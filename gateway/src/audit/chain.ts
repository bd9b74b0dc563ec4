/**
 * The per-tenant hash chain: how a record's hash is computed, and how a chain read back is verified.
 *
 * hash(n) = SHA-256 (hex) of the canonical encoding (canonical.ts) of record n without its `hash` field — which
 * includes `tenant`, `seq` and `prevHash` = hash(n-1) (GENESIS_HASH for seq 1). Editing a record changes its hash;
 * deleting one leaves a gap in seq; reordering or inserting breaks prevHash or the hash (seq is hashed); dropping
 * the tail is only visible against a signed checkpoint (signing.ts) naming a later head — hence checkpoints.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical';
import { GENESIS_HASH, type AuditEventInput, type AuditRecord, type Checkpoint } from './event';

export function hashRecord(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...body } = record;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** Chains `event` after a head (`undefined`: the chain is empty). */
export function chainEvent(event: AuditEventInput, head: { seq: number; hash: string } | undefined): AuditRecord {
  const body = { ...event, seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH };
  return { ...body, hash: hashRecord(body) };
}

export type ChainProblem =
  | 'edited' // the record's hash is not the hash of its content
  | 'broken-link' // its prevHash is not the previous record's hash: inserted, reordered or replaced
  | 'missing' // a sequence number is absent: deleted
  | 'duplicate' // a sequence number appears twice
  | 'truncated' // a signed checkpoint names a later head than the chain has
  | 'checkpoint-mismatch' // the record at a checkpoint's seq does not have the checkpoint's hash
  | 'bad-checkpoint'; // a checkpoint's signature does not verify

export interface VerifyResult {
  ok: boolean;
  /** Records checked (after the retention cut). */
  checked: number;
  /** The chain's head as read. */
  head?: { seq: number; hash: string };
  /** The first bad sequence number and why. */
  firstBad?: { seq: number; problem: ChainProblem };
}

export interface ChainVerifier {
  /** Feed records in ascending `seq` order (as the store reads them). */
  push(record: AuditRecord): void;
  /** Checks the tail against the checkpoints and returns the verdict. */
  finish(): VerifyResult;
}

/**
 * Streams a tenant's chain: memory stays constant whatever its length. `checkpoints` are those whose signature
 * verified (signing.ts); `badCheckpoints` those whose did not. The chain starts after the latest `cut` checkpoint
 * (retention, retention.ts): records at or before it may be gone, and the one at its seq, if still there, must
 * carry its hash.
 */
export function createChainVerifier(
  checkpoints: readonly Checkpoint[],
  badCheckpoints: readonly Checkpoint[] = [],
): ChainVerifier {
  const cut = checkpoints
    .filter((c) => c.kind === 'cut')
    .reduce<Checkpoint | undefined>((latest, c) => (latest && latest.seq >= c.seq ? latest : c), undefined);
  const bySeq = new Map<number, string>();
  for (const c of checkpoints) if (!cut || c.seq >= cut.seq) bySeq.set(c.seq, c.hash);
  let expectedSeq = (cut?.seq ?? 0) + 1;
  let expectedPrev = cut?.hash ?? GENESIS_HASH;
  let checked = 0;
  let head: { seq: number; hash: string } | undefined = cut ? { seq: cut.seq, hash: cut.hash } : undefined;
  let firstBad: VerifyResult['firstBad'];
  const fail = (seq: number, problem: ChainProblem) => {
    if (!firstBad) firstBad = { seq, problem };
  };

  return {
    push(record) {
      if (firstBad) return;
      if (cut && record.seq <= cut.seq) {
        if (record.seq === cut.seq && record.hash !== cut.hash) fail(record.seq, 'checkpoint-mismatch');
        return;
      }
      if (record.seq < expectedSeq) return fail(record.seq, 'duplicate');
      if (record.seq > expectedSeq) return fail(expectedSeq, 'missing');
      if (hashRecord(record) !== record.hash) return fail(record.seq, 'edited');
      if (record.prevHash !== expectedPrev) return fail(record.seq, 'broken-link');
      const signed = bySeq.get(record.seq);
      if (signed !== undefined && signed !== record.hash) return fail(record.seq, 'checkpoint-mismatch');
      checked++;
      head = { seq: record.seq, hash: record.hash };
      expectedPrev = record.hash;
      expectedSeq++;
    },
    finish() {
      if (!firstBad) {
        const latest = Math.max(0, ...checkpoints.map((c) => c.seq));
        if (latest > (head?.seq ?? 0)) fail((head?.seq ?? 0) + 1, 'truncated');
      }
      if (!firstBad && badCheckpoints.length > 0) fail(Math.min(...badCheckpoints.map((c) => c.seq)), 'bad-checkpoint');
      return { ok: !firstBad, checked, ...(head ? { head } : {}), ...(firstBad ? { firstBad } : {}) };
    },
  };
}

/** Verifies a whole chain held in memory (tests, small tenants). */
export function verifyChain(
  records: Iterable<AuditRecord>,
  checkpoints: readonly Checkpoint[],
  badCheckpoints: readonly Checkpoint[] = [],
): VerifyResult {
  const verifier = createChainVerifier(checkpoints, badCheckpoints);
  for (const record of records) verifier.push(record);
  return verifier.finish();
}
