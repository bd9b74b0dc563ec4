/**
 * `tollgate tenant erase`: everything the platform holds of one tenant, in an order that keeps it safe to stop and
 * re-run at any step (every step is idempotent). Afterwards no document anywhere names the tenant (issue 18,
 * acceptance 2): what is kept of it is kept under its pseudonym (gateway/src/tenants/erased.ts), an HMAC of its id
 * under a key derived from the internal secret.
 *
 * 1. mark it as being erased and suspend it, in one write (registry.ts, `beginErasure`; refused while a
 *    `tenant move` of it is under way, and from here on no move can start and the tenant cannot be resumed) — every
 *    gateway refuses it (403 FORBIDDEN, reason TENANT_SUSPENDED) within 5 s — and wait `settleMs`, so no request
 *    admitted before the suspension writes after the deletion;
 * 2. destroy its data key (TenantKeys): every copy of its ciphertext anywhere becomes unreadable;
 * 3. delete its documents in every subgraph through their platform API (bounded batches), with before/after counts;
 * 4. revoke and delete its API keys, retire and delete its manifests;
 * 5. purge its `{tenant}`-tagged Redis entries (SCAN);
 * 6. store its tombstone, `erased_tenants` keyed by the pseudonym — before the tenant record goes, so from here on a
 *    re-run finds the erasure by the pseudonym when the record is gone, and `tenant create` refuses the id;
 * 7. delete its tenant record (gateways then answer its tokens 403 FORBIDDEN, reason TENANT_UNKNOWN, and record no
 *    audit event for them) and wait `settleMs` again, so gateways have forgotten it and flushed its last events;
 * 8. delete its usage rollups (the rollup stopped with the record: it rolls up the registry's tenants);
 * 9. seal its audit chain: its head (seq, hash) and number of records go into the erasure record, appended to the
 *    platform's chain (`_platform`, chained and then signed like every record) under the pseudonym — then delete
 *    the chain's records and checkpoints (bounded batches).
 *
 * The printed receipt names the tenant and its pseudonym: it is what ties the platform's record to the tenant, for an
 * auditor who is handed it. Nothing stored does. Every run appends its own record (a re-run's says `chainRecords: 0`).
 *
 * A gateway that spooled the tenant's events to disk during a MongoDB outage (gateway/src/audit/spool.ts) drops them
 * at replay once the record is gone (writer.ts, `tenantGone`). Known limits: a replay already past that check when
 * step 7 runs and still writing after step 9 writes its events back, and a gateway's checkpoint checks the head is
 * still there just before signing (writer.ts), so a deletion landing in between leaves one checkpoint — a re-run
 * deletes either.
 */
import type { SubgraphName } from '../../subgraphs/catalog';
import type { ControlPlane } from '../../gateway/src/control-plane/open';
import type { PlacedEraseResult, SiloErasure } from '../../subgraphs/kit/platform/operations';
import type { PlatformClient } from './platform-client';

/**
 * The tenant's data key (envelope encryption of personal fields). Destroying it is what makes copies of its
 * ciphertext outside the platform's reach (replicas, backups, raw exports) unreadable.
 */
export interface TenantKeys {
  /** Destroys the tenant's data key(s); `absent` when it has none (encryption off, or a re-run). */
  destroyDataKey(tenantId: string): Promise<'destroyed' | 'absent'>;
}

/** Until a key provider is configured: no tenant has a data key. */
export const NO_TENANT_KEYS: TenantKeys = { destroyDataKey: async () => 'absent' };

/** The tenant's audit chain as it stood before its deletion. */
export interface SealedChain {
  seq: number;
  hash: string;
  records: number;
}

/** What the platform's chain keeps of the erasure: the pseudonym, never the id, and the counts of the receipt. */
export interface ErasureRecord {
  pseudonym: string;
  keyId: string;
  dataKey: 'destroyed' | 'absent';
  /** `subgraph/collection:before` for every collection. */
  collections: string[];
  documentsBefore: number;
  apiKeysDeleted: number;
  manifestsDeleted: number;
  redisKeys: number;
  usageRecords: number;
  /** The tenant's chain before its deletion; absent when it had none (or a re-run already deleted it). */
  chain?: SealedChain;
}

/** The audit trail's side of the erasure (cli/lifecycle/erasure-trail.ts on the audit store). */
export interface ErasureTrail {
  /** The head and number of records of the tenant's chain; undefined when it has none. */
  seal(tenantId: string): Promise<SealedChain | undefined>;
  /** Appends the record to the platform's chain (and signs a checkpoint over it); returns where it is. */
  recordErasure(record: ErasureRecord): Promise<{ seq: number; hash: string }>;
  /** Deletes the tenant's chain records and checkpoints, in bounded batches; a re-run deletes nothing. */
  deleteChain(tenantId: string): Promise<{ events: number; checkpoints: number }>;
}

export interface ErasureReceipt {
  tenant: string;
  /** What the platform's audit chain and the tombstone call the tenant. */
  pseudonym: string;
  erasedAt: string;
  dataKey: 'destroyed' | 'absent';
  /** Per subgraph: both placements' collections (silo rows when it had a silo database), and that database's fate. */
  subgraphs: { subgraph: SubgraphName; collections: PlacedEraseResult[]; silo?: SiloErasure }[];
  apiKeys: { revoked: number; deleted: number };
  manifests: { retired: number; deleted: number };
  redisKeys: number;
  usageRecords: number;
  audit: {
    sealed?: SealedChain;
    deleted: { events: number; checkpoints: number };
    /** The erasure record in the `_platform` chain. */
    platformRecord: { seq: number; hash: string };
  };
  /** True when every collection of every subgraph ended with 0 documents of the tenant. */
  complete: boolean;
}

export interface EraseOptions {
  tenantId: string;
  /** The tenant's pseudonym under the current key, that key's id, and its pseudonyms under every known key. */
  pseudonym: { current: string; keyId: string; all: readonly string[] };
  controlPlane: ControlPlane;
  platform: PlatformClient;
  tenantKeys: TenantKeys;
  trail: ErasureTrail;
  purgeRedis(tenantId: string): Promise<number>;
  /** How long to wait after suspending, and after deleting the record, for gateways to apply it (within 5 s). */
  settleMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export async function eraseTenant(options: EraseOptions): Promise<ErasureReceipt> {
  const { tenantId, controlPlane, platform, pseudonym } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const settle = () => (options.settleMs > 0 ? sleep(options.settleMs) : Promise.resolve());
  const now = options.now?.() ?? new Date();
  const tenant = await controlPlane.tenants.getTenant(tenantId);
  // No record: an erasure that got past step 7 is resumed (its tombstone says so); anything else is no tenant.
  if (!tenant && !(await controlPlane.erasedTenants.anyErased(pseudonym.all))) throw new Error(`no tenant ${tenantId}`);
  if (tenant && !tenant.erasingSince) {
    await controlPlane.tenants.beginErasure(tenantId, now);
    // Suspended before, by an operator: it was refused already, and no request of it can still be writing.
    if (tenant.status !== 'suspended') await settle();
  } else if (tenant?.erasingSince) {
    // A re-run: the run that suspended it may have stopped while waiting; what is left of its wait is waited here.
    const left = options.settleMs - (now.getTime() - tenant.erasingSince.getTime());
    if (left > 0) await sleep(Math.min(left, options.settleMs));
  }
  const dataKey = await options.tenantKeys.destroyDataKey(tenantId);

  const subgraphs: ErasureReceipt['subgraphs'] = [];
  for (const subgraph of platform.subgraphs) {
    const answer = await platform.call<{ collections: PlacedEraseResult[]; silo?: SiloErasure }>(
      subgraph,
      'erase',
      tenantId,
    );
    subgraphs.push({ subgraph, collections: answer.collections, ...(answer.silo ? { silo: answer.silo } : {}) });
  }
  const apiKeys = await controlPlane.apiKeys.purgeTenant(tenantId);
  const manifests = await controlPlane.manifests.purgeTenant(tenantId);
  const redisKeys = await options.purgeRedis(tenantId);

  await controlPlane.erasedTenants.record(pseudonym.current, pseudonym.keyId, now);
  if (tenant && (await controlPlane.tenants.deleteTenant(tenantId))) await settle();
  const usageRecords = await controlPlane.usage.purgeTenant(tenantId);

  const sealed = await options.trail.seal(tenantId);
  const collections = subgraphs.flatMap((s) =>
    s.collections.map((c) => `${s.subgraph}/${c.collection}${c.placement === 'silo' ? ' (silo)' : ''}:${c.before}`),
  );
  const platformRecord = await options.trail.recordErasure({
    pseudonym: pseudonym.current,
    keyId: pseudonym.keyId,
    dataKey,
    collections,
    documentsBefore: subgraphs.reduce((n, s) => n + s.collections.reduce((m, c) => m + c.before, 0), 0),
    apiKeysDeleted: apiKeys.deleted,
    manifestsDeleted: manifests.deleted,
    redisKeys,
    usageRecords,
    ...(sealed ? { chain: sealed } : {}),
  });
  // Only once the head is in the platform's chain: an erasure stopped before this point re-seals the same head.
  const deleted = await options.trail.deleteChain(tenantId);

  return {
    tenant: tenantId,
    pseudonym: pseudonym.current,
    erasedAt: now.toISOString(),
    dataKey,
    subgraphs,
    apiKeys,
    manifests,
    redisKeys,
    usageRecords,
    audit: { ...(sealed ? { sealed } : {}), deleted, platformRecord },
    complete: subgraphs.every((s) => s.silo !== 'not empty' && s.collections.every((c) => c.after === 0)),
  };
}

export function formatReceipt(receipt: ErasureReceipt): string {
  const rows = receipt.subgraphs.flatMap((s) =>
    s.collections.map(
      (c) =>
        `  ${s.subgraph.padEnd(10)} ${c.collection.padEnd(12)} ${String(c.before).padStart(9)}  ${c.after}${c.placement === 'silo' ? '  in its silo database' : ''}`,
    ),
  );
  const { sealed, deleted, platformRecord } = receipt.audit;
  const silos = receipt.subgraphs.filter((s) => s.silo !== undefined && s.silo !== 'absent');
  return [
    `Erasure receipt — tenant ${receipt.tenant}, ${receipt.erasedAt}`,
    `pseudonym    ${receipt.pseudonym}`,
    `  SUBGRAPH   COLLECTION      BEFORE  AFTER`,
    ...rows,
    ...silos.map((s) => `silo DB      ${s.subgraph}: ${s.silo}`),
    `data key     ${receipt.dataKey}`,
    `API keys     ${receipt.apiKeys.revoked} revoked, ${receipt.apiKeys.deleted} deleted`,
    `manifests    ${receipt.manifests.retired} retired, ${receipt.manifests.deleted} deleted`,
    `Redis keys   ${receipt.redisKeys} deleted`,
    `usage        ${receipt.usageRecords} rollups deleted`,
    `audit chain  ${sealed ? `sealed at seq ${sealed.seq} (${sealed.hash}), ${sealed.records} records` : 'none left'}; ${deleted.events} records and ${deleted.checkpoints} checkpoints deleted`,
    `recorded     _platform seq ${platformRecord.seq} (${platformRecord.hash})`,
    `status       ${receipt.complete ? 'complete: every collection holds 0 documents of the tenant' : 'INCOMPLETE: run it again'}`,
  ].join('\n');
}
