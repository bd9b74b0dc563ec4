/**
 * The erasure's side of the audit trail (erase.ts `ErasureTrail`) on the audit store the CLI writes to
 * (cli/audit-record.ts): seals the tenant's chain, appends the erasure record to the platform's chain
 * (PLATFORM_AUDIT_TENANT) as a `tenant erase` control event under the pseudonym, signs a checkpoint over it, and
 * deletes the tenant's chain.
 *
 * The record is written here, before the chain is deleted, rather than by the command's audit hook when the command
 * ends (cli/commands.ts): the head must be in the platform's chain before the chain it proves is gone, and the hook
 * would name the tenant.
 */
import type { AuditEventInput } from '../../gateway/src/audit/event';
import type { AuditSigner } from '../../gateway/src/audit/signing';
import type { AuditStore } from '../../gateway/src/audit/store';
import { PLATFORM_AUDIT_TENANT, controlEvent } from '../audit-record';
import type { ErasureRecord, ErasureTrail } from './erase';

export interface ErasureTrailOptions {
  store: AuditStore;
  signer: AuditSigner;
  operator: string;
  /** The operator-name HMAC key (audit-record.ts `operatorHmacKey`). */
  hmacKey: Buffer;
  now?: () => Date;
}

/** The record's details: flat, as every event's are (FerretDB stores no nested arrays; canonical.ts). */
export function erasureDetails(record: ErasureRecord): NonNullable<AuditEventInput['details']> {
  return {
    subject: record.pseudonym,
    subjectKeyId: record.keyId,
    dataKey: record.dataKey,
    collections: record.collections,
    documentsBefore: record.documentsBefore,
    apiKeysDeleted: record.apiKeysDeleted,
    manifestsDeleted: record.manifestsDeleted,
    redisKeys: record.redisKeys,
    usageRecords: record.usageRecords,
    ...(record.chain
      ? { chainHeadSeq: record.chain.seq, chainHeadHash: record.chain.hash, chainRecords: record.chain.records }
      : { chainRecords: 0 }),
  };
}

export function createErasureTrail(options: ErasureTrailOptions): ErasureTrail {
  const { store, signer } = options;
  return {
    async seal(tenantId) {
      const head = await store.head(tenantId);
      return head ? { seq: head.seq, hash: head.hash, records: await store.count(tenantId) } : undefined;
    },
    async recordErasure(record) {
      const event = controlEvent(
        'tenant erase',
        PLATFORM_AUDIT_TENANT,
        options.operator,
        erasureDetails(record),
        options.hmacKey,
      );
      const written = await store.append(PLATFORM_AUDIT_TENANT, [event]);
      if (!written) throw new Error('the erasure record could not be appended to the platform audit chain');
      await store.addCheckpoint(
        signer.sign({
          tenant: PLATFORM_AUDIT_TENANT,
          seq: written.seq,
          hash: written.hash,
          time: (options.now?.() ?? new Date()).toISOString(),
          kind: 'head',
        }),
      );
      return { seq: written.seq, hash: written.hash };
    },
    deleteChain: (tenantId) => store.deleteChain(tenantId),
  };
}
