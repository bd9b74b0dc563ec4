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
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DEV_SECRETS_DIR } from './dev-secrets';

const HEX_32 = /^[0-9a-fA-F]{64}$/;

export type MasterKeySource = 'env' | 'file' | 'dev';

export function loadOrCreateDevMasterKey(dir = DEV_SECRETS_DIR): Buffer {
  const file = join(dir, 'encryption-master-key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  const key = randomBytes(32);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600 });
  return key;
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
    problems.push(`${source === 'file' ? 'ENCRYPTION_MASTER_KEY_FILE' : 'ENCRYPTION_MASTER_KEY'} must hold 64 hex digits`);
    return undefined;
  }
  return { key: Buffer.from(text, 'hex'), source };
}
