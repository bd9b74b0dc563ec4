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
import type { TenantDirectory } from '../tenants/directory';
import { createAudit, type Audit } from './index';
import { createAuditSigner, type AuditSigner } from './signing';

export function loadAuditSigner(key: AuditConfig['signingKey'], production: boolean): AuditSigner {
  if (key.source === 'file') return createAuditSigner(readFileSync(key.path, 'utf8'));
  if (production) throw new Error('the development audit signing key is refused in production');
  return createAuditSigner(loadOrCreateAuditSigningKey());
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
    logger: options.logger.child({ component: 'audit' }),
  });
  return options.resources.add(started, (a) => a.close());
}
