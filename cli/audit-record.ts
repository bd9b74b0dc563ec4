/**
 * Control-plane changes made with the CLI, in the audit trail: each mutating command calls `audit(tenant, details)`
 * (command.ts), and once the command succeeded `runTollgate` writes the events here, chained like the gateway's
 * (gateway/src/audit/store.ts), with the operator's identity: TOLLGATE_OPERATOR, else the OS user. Plans belong to no
 * tenant: their changes go to the platform's own chain, PLATFORM_AUDIT_TENANT (not a valid tenant id, so no
 * tenant's chain can be it).
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { AuditEventInput } from '../gateway/src/audit/event';
import { redactPrincipal, redactionKey } from '../gateway/src/audit/redact';
import type { AuditSigner } from '../gateway/src/audit/signing';
import { loadAuditSigner } from '../gateway/src/audit/start';
import { AuditStore } from '../gateway/src/audit/store';
import { envText, isControlDbName, type ControlPlaneSettings } from '../gateway/src/config-common';

export const PLATFORM_AUDIT_TENANT = '_platform';

export function operatorOf(env: NodeJS.ProcessEnv): string {
  const named = env.TOLLGATE_OPERATOR?.trim();
  if (named) return named.slice(0, 128);
  try {
    return `os:${userInfo().username}`;
  } catch {
    return 'os:unknown';
  }
}

/**
 * The key an operator named by an e-mail address is hashed under: the gateway's redaction key when the CLI has the
 * internal secret (production), so it hashes as the gateway would; else a fixed one — which hides the address from
 * a casual reader but not from someone who guesses it.
 */
export function operatorHmacKey(env: NodeJS.ProcessEnv): Buffer {
  const secret = env.TOLLGATE_INTERNAL_SECRET?.trim();
  return secret && /^(?:[0-9a-fA-F]{2}){32,}$/.test(secret)
    ? redactionKey(Buffer.from(secret, 'hex'))
    : Buffer.from('tollgate operator');
}

export function controlEvent(
  command: string,
  tenant: string,
  operator: string,
  details: AuditEventInput['details'],
  hmacKey: Buffer,
): AuditEventInput {
  return {
    id: randomUUID(),
    tenant,
    time: new Date().toISOString(),
    type: 'control',
    action: command,
    // An operator named by an e-mail address is hashed like any e-mail (redact.ts).
    actor: { principal: redactPrincipal(operator, hmacKey), credential: 'operator' },
    outcome: 'ok',
    ...(details && Object.keys(details).length > 0 ? { details } : {}),
  };
}

/** The checkpoint signer: AUDIT_SIGNING_KEY_FILE's key, or outside production the development key. */
export function auditSignerFromEnv(env: NodeJS.ProcessEnv): AuditSigner {
  const file = envText(env, 'AUDIT_SIGNING_KEY_FILE');
  return loadAuditSigner(
    file === undefined ? { source: 'dev' } : { source: 'file', path: file },
    env.NODE_ENV === 'production',
  );
}

/** Where the trail is: AUDIT_MONGODB_URI / AUDIT_DB as the gateway reads them (config.ts), else the control plane. */
/**
 * The audit store where the trail is kept. Commands only use it (missing indexes slow reads, nothing else: the
 * store's `_id` orders the chain); `tollgate migrate` creates its indexes (`indexes: 'create'`).
 */
export function openAuditStore(
  env: NodeJS.ProcessEnv,
  settings: ControlPlaneSettings,
  indexes: 'create' | 'verify' = 'verify',
): Promise<AuditStore> {
  const mongoUri = env.AUDIT_MONGODB_URI?.trim() || settings.mongoUri;
  const dbName = env.AUDIT_DB?.trim() || settings.dbName;
  if (!/^mongodb(?:\+srv)?:\/\/\S+$/.test(mongoUri)) throw new Error('AUDIT_MONGODB_URI must be a mongodb: URI');
  if (!isControlDbName(dbName)) throw new Error('AUDIT_DB must be 1–63 letters, digits, "_" or "-"');
  return AuditStore.open({
    mongoUri,
    dbName,
    serverSelectionTimeoutMs: 5_000,
    indexes,
    ...(indexes === 'verify' ? { onIndexProblem: () => undefined } : {}),
  });
}

export async function writeControlEvents(
  env: NodeJS.ProcessEnv,
  settings: ControlPlaneSettings,
  events: readonly AuditEventInput[],
): Promise<void> {
  if (events.length === 0) return;
  const store = await openAuditStore(env, settings);
  try {
    const byTenant = new Map<string, AuditEventInput[]>();
    for (const event of events) byTenant.set(event.tenant, [...(byTenant.get(event.tenant) ?? []), event]);
    for (const [tenant, list] of byTenant) await store.append(tenant, list);
  } finally {
    await store.close();
  }
}
