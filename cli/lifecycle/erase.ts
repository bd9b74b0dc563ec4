/**
 * `tollgate tenant erase`: everything the platform holds of one tenant, in an order that keeps it safe to stop and
 * re-run at any step (every step is idempotent):
 *
 * 1. suspend it — every gateway refuses it (403 TENANT_SUSPENDED) within 5 s — and wait that long, so no request
 *    admitted before the suspension writes after the deletion;
 * 2. destroy its data key (TenantKeys): every copy of its ciphertext anywhere becomes unreadable;
 * 3. delete its documents in every subgraph through their platform API (bounded batches), with before/after counts;
 * 4. revoke and delete its API keys, retire and delete its manifests;
 * 5. purge its `{tenant}`-tagged Redis entries (SCAN);
 * 6. record the erasure (ErasureAudit) and hand back the receipt.
 *
 * The tenant's record stays as a tombstone — suspended, its name and origins blanked — so its tokens keep being
 * refused with a coded error and its id is not handed out again by mistake.
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

/** Where an erasure is recorded: the audit trail, once it exists. */
export interface ErasureAudit {
  recordErasure(receipt: ErasureReceipt): Promise<void>;
}

/** Until an audit trail exists the receipt printed (and kept by the operator) is the record. */
export const NO_ERASURE_AUDIT: ErasureAudit = { recordErasure: async () => undefined };

export interface ErasureReceipt {
  tenant: string;
  erasedAt: string;
  dataKey: 'destroyed' | 'absent';
  /** Per subgraph: both placements' collections (silo rows when it had a silo database), and that database's fate. */
  subgraphs: { subgraph: SubgraphName; collections: PlacedEraseResult[]; silo?: SiloErasure }[];
  apiKeys: { revoked: number; deleted: number };
  manifests: { retired: number; deleted: number };
  redisKeys: number;
  /** True when every collection of every subgraph ended with 0 documents of the tenant. */
  complete: boolean;
}

export interface EraseOptions {
  tenantId: string;
  controlPlane: ControlPlane;
  platform: PlatformClient;
  tenantKeys: TenantKeys;
  audit: ErasureAudit;
  purgeRedis(tenantId: string): Promise<number>;
  /** How long to wait after suspending an active tenant before deleting (gateways apply changes within 5 s). */
  settleMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export const ERASED_NAME = 'erased tenant';

export async function eraseTenant(options: EraseOptions): Promise<ErasureReceipt> {
  const { tenantId, controlPlane, platform } = options;
  const tenant = await controlPlane.tenants.getTenant(tenantId);
  if (!tenant) throw new Error(`no tenant ${tenantId}`);
  if (tenant.status !== 'suspended') {
    await controlPlane.tenants.suspendTenant(tenantId);
    if (options.settleMs > 0)
      await (options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))))(options.settleMs);
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
  // The tombstone keeps refusing the tenant and keeps nothing the tenant gave us.
  await controlPlane.tenants.updateTenant(tenantId, { name: ERASED_NAME, origins: [] });

  const receipt: ErasureReceipt = {
    tenant: tenantId,
    erasedAt: (options.now?.() ?? new Date()).toISOString(),
    dataKey,
    subgraphs,
    apiKeys,
    manifests,
    redisKeys,
    complete: subgraphs.every((s) => s.silo !== 'not empty' && s.collections.every((c) => c.after === 0)),
  };
  await options.audit.recordErasure(receipt);
  return receipt;
}

export function formatReceipt(receipt: ErasureReceipt): string {
  const rows = receipt.subgraphs.flatMap((s) =>
    s.collections.map(
      (c) =>
        `  ${s.subgraph.padEnd(10)} ${c.collection.padEnd(12)} ${String(c.before).padStart(9)}  ${c.after}${c.placement === 'silo' ? '  in its silo database' : ''}`,
    ),
  );
  const silos = receipt.subgraphs.filter((s) => s.silo !== undefined && s.silo !== 'absent');
  return [
    `Erasure receipt — tenant ${receipt.tenant}, ${receipt.erasedAt}`,
    `  SUBGRAPH   COLLECTION      BEFORE  AFTER`,
    ...rows,
    ...silos.map((s) => `silo DB      ${s.subgraph}: ${s.silo}`),
    `data key     ${receipt.dataKey}`,
    `API keys     ${receipt.apiKeys.revoked} revoked, ${receipt.apiKeys.deleted} deleted`,
    `manifests    ${receipt.manifests.retired} retired, ${receipt.manifests.deleted} deleted`,
    `Redis keys   ${receipt.redisKeys} deleted`,
    `status       ${receipt.complete ? 'complete: every collection holds 0 documents of the tenant' : 'INCOMPLETE: run it again'}`,
  ].join('\n');
}
