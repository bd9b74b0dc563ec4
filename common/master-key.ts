/**
 * The encryption master key (the key-encryption key of subgraphs/kit/encryption), read from the environment in one
 * place for the subgraphs, `tollgate migrate` and the demo seeder:
 *
 *   ENCRYPTION_MASTER_KEY       64 hex digits (32 bytes)
 *   ENCRYPTION_MASTER_KEY_FILE  a file holding the same (a mounted secret); takes precedence
 *
 * Neither set: outside production, a development key generated once under .data/secrets (like dev-secrets.ts) so
 * every local process agrees; in production (NODE_ENV=production), an error — encrypted data must never be written
 * under a key nobody keeps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DEV_SECRETS_DIR, createOnce } from './dev-secrets';

const HEX_32 = /^[0-9a-fA-F]{64}$/;

export type MasterKeySource = 'env' | 'file' | 'dev';

export function loadOrCreateDevMasterKey(dir = DEV_SECRETS_DIR): Buffer {
  const file = join(dir, 'encryption-master-key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  // Subgraphs start side by side: one key for all of them (createOnce), or data sealed under a key nobody keeps.
  return Buffer.from(createOnce(dir, 'encryption-master-key', randomBytes(32).toString('hex') + '\n').trim(), 'hex');
}

/** Reads the master key; `problems` collects what is wrong (never the value), as the config modules do. */
export function readMasterKey(
  env: NodeJS.ProcessEnv,
  problems: string[],
): { key: Buffer; source: MasterKeySource } | undefined {
  const production = env.NODE_ENV === 'production';
  let text: string | undefined;
  let source: MasterKeySource = 'env';
  if (env.ENCRYPTION_MASTER_KEY_FILE !== undefined) {
    source = 'file';
    try {
      text = readFileSync(env.ENCRYPTION_MASTER_KEY_FILE, 'utf8').trim();
    } catch {
      problems.push('ENCRYPTION_MASTER_KEY_FILE cannot be read');
      return undefined;
    }
  } else if (env.ENCRYPTION_MASTER_KEY !== undefined) {
    text = env.ENCRYPTION_MASTER_KEY.trim();
  }
  if (text === undefined) {
    if (production) {
      problems.push(
        'ENCRYPTION_MASTER_KEY or ENCRYPTION_MASTER_KEY_FILE is required in production while encryption is on (64 hex digits)',
      );
      return undefined;
    }
    return { key: loadOrCreateDevMasterKey(), source: 'dev' };
  }
  if (!HEX_32.test(text)) {
    problems.push(
      `${source === 'file' ? 'ENCRYPTION_MASTER_KEY_FILE' : 'ENCRYPTION_MASTER_KEY'} must hold 64 hex digits`,
    );
    return undefined;
  }
  return { key: Buffer.from(text, 'hex'), source };
}

/** Encryption at rest as configured: on with its master key and key cache bounds, or off. */
export type EncryptionSettings =
  | { enabled: true; masterKey: Buffer; source: MasterKeySource; cache: { max: number; ttlMs: number } }
  | { enabled: false };

/**
 * `ENCRYPTION_AT_REST` on (default) | off, the master key (readMasterKey), `ENCRYPTION_KEY_CACHE_MAX` (tenants whose
 * unwrapped keys a process keeps, default 10 000) and `ENCRYPTION_KEY_CACHE_TTL_MS` (default 300 000: how long a
 * replica may go on using a key another replica destroyed or rotated).
 */
export function readEncryptionSettings(env: NodeJS.ProcessEnv, problems: string[]): EncryptionSettings {
  const mode = env.ENCRYPTION_AT_REST ?? 'on';
  if (mode !== 'on' && mode !== 'off') {
    problems.push('ENCRYPTION_AT_REST must be on or off');
    return { enabled: false };
  }
  if (mode === 'off') return { enabled: false };
  const integer = (variable: string, fallback: number, min: number, max: number): number => {
    const raw = env[variable];
    if (raw === undefined) return fallback;
    if (!/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${variable} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const cache = {
    max: integer('ENCRYPTION_KEY_CACHE_MAX', 10_000, 1, 1_000_000),
    ttlMs: integer('ENCRYPTION_KEY_CACHE_TTL_MS', 300_000, 1_000, 86_400_000),
  };
  const master = readMasterKey(env, problems);
  return master ? { enabled: true, masterKey: master.key, source: master.source, cache } : { enabled: false };
}
