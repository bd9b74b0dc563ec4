/**
 * The audit trail's settings, read from the environment with the gateway configuration's own readers
 * (config.ts), as metering's are (metering/settings.ts).
 */
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../../common/paths';
import { isControlDbName } from '../config-common';

/**
 * `AUDIT_ENABLED` (on by default outside production; production turns it on explicitly and must then name
 * `AUDIT_SIGNING_KEY_FILE`), `AUDIT_SPOOL_PATH`, `AUDIT_SPOOL_MAX_BYTES`, `AUDIT_OVERFLOW`, `AUDIT_FLUSH_MS`,
 * `AUDIT_CHECKPOINT_MS`, `AUDIT_RETENTION_INTERVAL_MS`.
 */
export interface AuditConfig {
  /**
   * Where the trail is kept (`AUDIT_MONGODB_URI`, `AUDIT_DB`): the control plane's MongoDB and database unless
   * set — a separate database (or cluster) keeps the trail out of reach of whoever administers the control plane.
   */
  store?: { mongoUri: string; dbName: string };
  /** The Ed25519 checkpoint key: a PEM file, or (development only) the key generated under .data/secrets. */
  signingKey: { source: 'file'; path: string } | { source: 'dev' };
  spoolPath: string;
  spoolMaxBytes: number;
  /** Spool full: `plan` refuses mutations of tenants whose plan requires a complete trail; `count` only counts. */
  overflow: 'plan' | 'count';
  flushIntervalMs: number;
  checkpointIntervalMs: number;
  /** 0: this gateway runs no retention job. */
  retentionIntervalMs: number;
}

export const DEFAULT_AUDIT_SPOOL_PATH = join(PROJECT_ROOT, '.data', 'audit', 'spool.ndjson');
export const DEFAULT_AUDIT_SPOOL_MAX_BYTES = 64 * 1_048_576;

export interface AuditReaders {
  text(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number): number;
  production: boolean;
  /** Where the trail is kept unless AUDIT_MONGODB_URI / AUDIT_DB say otherwise. */
  controlPlane: { mongoUri: string; dbName: string };
  /** Problems are added here, as config.ts collects them. */
  problems: string[];
}

/** The audit configuration; undefined when the trail is off (`AUDIT_ENABLED`). */
export function readAuditConfig(readers: AuditReaders): AuditConfig | undefined {
  const { text, integer, production, controlPlane, problems } = readers;
  const auditEnabled = text('AUDIT_ENABLED') ?? (production ? 'false' : 'true');
  if (auditEnabled !== 'true' && auditEnabled !== 'false') problems.push('AUDIT_ENABLED must be "true" or "false"');
  const auditKeyFile = text('AUDIT_SIGNING_KEY_FILE');
  // Fail closed: a production trail signed with a key generated on the machine proves nothing.
  if (auditEnabled === 'true' && production && auditKeyFile === undefined)
    problems.push('AUDIT_SIGNING_KEY_FILE is required when NODE_ENV=production and AUDIT_ENABLED=true');
  const auditOverflow = text('AUDIT_OVERFLOW') ?? 'plan';
  if (auditOverflow !== 'plan' && auditOverflow !== 'count') problems.push('AUDIT_OVERFLOW must be "plan" or "count"');
  const auditMongoUri = text('AUDIT_MONGODB_URI');
  if (auditMongoUri !== undefined && !/^mongodb(?:\+srv)?:\/\/\S+$/.test(auditMongoUri))
    problems.push('AUDIT_MONGODB_URI must be a mongodb: or mongodb+srv: URI');
  const auditDb = text('AUDIT_DB');
  if (auditDb !== undefined && !isControlDbName(auditDb))
    problems.push('AUDIT_DB must be 1–63 letters, digits, "_" or "-"');
  if (auditEnabled !== 'true') return undefined;
  return {
    ...(auditMongoUri === undefined && auditDb === undefined
      ? {}
      : { store: { mongoUri: auditMongoUri ?? controlPlane.mongoUri, dbName: auditDb ?? controlPlane.dbName } }),
    signingKey: auditKeyFile === undefined ? { source: 'dev' } : { source: 'file', path: resolve(auditKeyFile) },
    spoolPath: resolve(text('AUDIT_SPOOL_PATH') ?? DEFAULT_AUDIT_SPOOL_PATH),
    spoolMaxBytes: integer('AUDIT_SPOOL_MAX_BYTES', DEFAULT_AUDIT_SPOOL_MAX_BYTES, 4_096, 64 * 1_073_741_824),
    overflow: auditOverflow === 'count' ? 'count' : 'plan',
    flushIntervalMs: integer('AUDIT_FLUSH_MS', 250, 10, 60_000),
    checkpointIntervalMs: integer('AUDIT_CHECKPOINT_MS', 60_000, 1_000, 86_400_000),
    retentionIntervalMs: integer('AUDIT_RETENTION_INTERVAL_MS', 21_600_000, 0, 604_800_000),
  };
}
