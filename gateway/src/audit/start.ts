/**
 * The audit trail as the gateway starts it from its configuration (config.ts `audit`): loads the signing key —
 * the file AUDIT_SIGNING_KEY_FILE names, or outside production the development key (common/dev-secrets.ts) — and
 * builds the audit over the control plane's database.
 */
import { readFileSync } from 'node:fs';
import { loadOrCreateAuditSigningKey } from '../../../common/dev-secrets';
import type { Logger } from '../../../common/logger';
import type { AuditConfig, GatewayConfig } from '../config';
import type { Resources } from '../resources';
import { UnknownTenantError, type TenantDirectory } from '../tenants/directory';
import { createAudit, type Audit } from './index';
import { createAuditSigner, type AuditSigner } from './signing';

export function loadAuditSigner(key: AuditConfig['signingKey'], production: boolean): AuditSigner {
  if (key.source === 'file') return createAuditSigner(readFileSync(key.path, 'utf8'));
  if (production) throw new Error('the development audit signing key is refused in production');
  return createAuditSigner(loadOrCreateAuditSigningKey());
}

/**
 * The writer's `tenantGone` (writer.ts): only `tollgate tenant erase` deletes a tenant's record, so a tenant the
 * registry does not have any more was erased. A control plane that cannot answer rejects (the directory's
 * ControlPlaneUnavailableError), and the spool waits for the next replay.
 */
export function tenantGoneFrom(directory: Pick<TenantDirectory, 'tenantFor'>): (tenant: string) => Promise<boolean> {
  return async (tenant) => {
    try {
      await directory.tenantFor(tenant);
      return false;
    } catch (error) {
      if (error instanceof UnknownTenantError) return true;
      throw error;
    }
  };
}

export async function startAudit(
  config: GatewayConfig,
  options: { internalSecret: Buffer; directory: TenantDirectory; logger: Logger; resources: Resources },
): Promise<Audit | undefined> {
  const audit = config.audit;
  if (!audit) return undefined;
  const started = await createAudit({
    mongoUri: audit.store?.mongoUri ?? config.controlPlane.mongoUri,
    dbName: audit.store?.dbName ?? config.controlPlane.dbName,
    signer: loadAuditSigner(audit.signingKey, config.production),
    internalSecret: options.internalSecret,
    spoolPath: audit.spoolPath,
    spoolMaxBytes: audit.spoolMaxBytes,
    overflow: audit.overflow,
    flushIntervalMs: audit.flushIntervalMs,
    checkpointIntervalMs: audit.checkpointIntervalMs,
    retentionIntervalMs: audit.retentionIntervalMs,
    planOf: async (tenant) => {
      try {
        return (await options.directory.tenantFor(tenant)).plan;
      } catch {
        return undefined;
      }
    },
    tenantGone: tenantGoneFrom(options.directory),
    logger: options.logger.child({ component: 'audit' }),
  });
  return options.resources.add(started, (a) => a.close());
}
