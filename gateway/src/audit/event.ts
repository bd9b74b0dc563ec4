/**
 * What an audit event is. The gateway and the CLI build `AuditEventInput`s; the writer (writer.ts) chains them per
 * tenant at write time (seq, prevHash, hash: chain.ts) and stores `AuditRecord`s. Every field is a string, a safe
 * integer, a boolean or a plain object/array of those, so the canonical encoding (canonical.ts) applies unchanged.
 */
export const AUDIT_EVENT_TYPES = ['mutation', 'refusal', 'credential', 'control'] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Who acted. A caller of the gateway (`jwt` / `apiKey`), or an operator using the CLI. */
export interface AuditActor {
  /** The token's subject, `key:<keyId>`, or the operator's name. Never an e-mail address (redact.ts refuses one). */
  principal: string;
  credential: 'jwt' | 'apiKey' | 'operator';
  keyId?: string;
}

export interface AuditEventInput {
  /** Random id: makes a replay after a partial write idempotent (writer.ts). */
  id: string;
  tenant: string;
  /** ISO-8601 with milliseconds and Z. */
  time: string;
  type: AuditEventType;
  /** The operation name, the refusal code, the credential event, or the CLI command (`key revoke`). */
  action: string;
  actor: AuditActor;
  outcome: 'ok' | 'error' | 'refused';
  errorCodes?: string[];
  /** The operator-facing reason of a refusal (request log's `reason`). */
  reason?: string;
  requestId?: string;
  traceId?: string;
  /** Apollo Server's SHA-256 of the document. */
  documentHash?: string;
  /** The variables, redacted (redact.ts), as canonical JSON text: FerretDB stores no nested arrays. */
  variables?: string;
  /** What a control-plane change changed: ids and settings, never a secret. */
  details?: Record<string, string | number | boolean | string[]>;
}

export interface AuditRecord extends AuditEventInput {
  seq: number;
  prevHash: string;
  hash: string;
}

/** A signed statement "the chain of `tenant` had head `hash` at `seq` at `time`" (signing.ts). */
export interface Checkpoint {
  tenant: string;
  seq: number;
  hash: string;
  time: string;
  /** `cut`: written by the retention job; events up to `seq` may be gone and the chain resumes after it. */
  kind: 'head' | 'cut';
  /** Which key signed (the first 16 hex digits of the SHA-256 of its public key, DER). */
  keyId: string;
  /** Ed25519 signature over the canonical encoding of the fields above, base64. */
  signature: string;
}

/** The chain's start: the previous hash of seq 1. */
export const GENESIS_HASH = '0'.repeat(64);
