/**
 * Retention: a tenant's events older than its plan keeps them (policy.ts) are deleted — after a signed `cut`
 * checkpoint over the last deleted record, so the rest of the chain still verifies from there (chain.ts). Deleted in
 * bounded batches (FerretDB has no TTL indexes, and one unbounded delete would hold the database). An interrupted
 * prune resumes: the cut is written first, and records at or before it are ignored by verify.
 */
import type { AuditSigner } from './signing';
import type { AuditStore } from './store';

export interface PruneOptions {
  store: AuditStore;
  signer: AuditSigner;
  /** Days of events the tenant keeps; undefined (a tenant no longer known): keep everything. */
  retentionDaysOf: (tenant: string) => Promise<number | undefined>;
  now?: () => Date;
  batchSize?: number;
  /** Stop after this many deletions per tenant per run (the next run goes on). */
  maxPerRun?: number;
}

export interface PruneResult {
  tenant: string;
  cutSeq: number;
  deleted: number;
}

export async function pruneTenant(tenant: string, options: PruneOptions): Promise<PruneResult | undefined> {
  const now = options.now?.() ?? new Date();
  const days = await options.retentionDaysOf(tenant);
  if (days === undefined) return undefined;
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  const { store } = options;
  const firstKept = await store.firstAtOrAfter(tenant, cutoff);
  const cutSeq = firstKept ? firstKept.seq - 1 : ((await store.head(tenant))?.seq ?? 0);
  if (cutSeq < 1) return undefined;
  const existing = (await store.checkpoints(tenant)).filter((c) => c.kind === 'cut' && c.seq >= cutSeq);
  if (existing.length === 0) {
    const last = await store.recordAt(tenant, cutSeq);
    if (!last) return undefined; // already pruned past here
    await store.addCheckpoint(
      options.signer.sign({ tenant, seq: last.seq, hash: last.hash, time: now.toISOString(), kind: 'cut' }),
    );
  }
  const batch = options.batchSize ?? 500;
  const maxPerRun = options.maxPerRun ?? 50_000;
  let deleted = 0;
  while (deleted < maxPerRun) {
    const n = await store.deleteUpTo(tenant, cutSeq, batch);
    deleted += n;
    if (n < batch) break;
  }
  return { tenant, cutSeq, deleted };
}

export async function pruneAll(options: PruneOptions): Promise<PruneResult[]> {
  const results: PruneResult[] = [];
  for (const tenant of await options.store.tenants()) {
    const result = await pruneTenant(tenant, options);
    if (result) results.push(result);
  }
  return results;
}
