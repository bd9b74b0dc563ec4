/**
 * Development secrets, generated on first start under .data/secrets (git-ignored) and reused afterwards:
 * the JWT signing key pair that `npm run token` signs with and the gateway trusts in development, and the
 * gateway's internal secret from which each subgraph's key is derived, and the audit trail's Ed25519 checkpoint
 * signing key (gateway/src/audit/signing.ts). Production supplies its own.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { PROJECT_ROOT } from './paths';

export const DEV_SECRETS_DIR = join(PROJECT_ROOT, '.data', 'secrets');
export const DEV_JWT_ISSUER = 'tollgate-dev';
export const DEV_JWT_AUDIENCE = 'tollgate';
export const DEV_JWT_ALG = 'ES256';

export interface DevJwtKeys {
  kid: string;
  privateJwk: JWK;
  publicJwks: { keys: JWK[] };
}

/**
 * Writes `content` to `file` unless it exists, and returns what `file` holds then. Several processes start at once
 * on a fresh checkout (`npm start`, the benchmark's gateways) and each may find no secret: the first complete file
 * wins — written aside, then hard-linked into place, which fails if another got there first — and every other process
 * reads the winner's, so they all sign and verify with the same key.
 */
export function createOnce(dir: string, name: string, content: string): string {
  const file = join(dir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const aside = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(aside, content, { mode: 0o600 });
  try {
    linkSync(aside, file);
    return content;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(file, 'utf8');
  } finally {
    unlinkSync(aside);
  }
}

export async function loadOrCreateDevJwtKeys(dir = DEV_SECRETS_DIR): Promise<DevJwtKeys> {
  const file = join(dir, 'dev-jwt.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevJwtKeys;
  const { privateKey, publicKey } = await generateKeyPair(DEV_JWT_ALG, { extractable: true });
  const kid = `dev-${randomBytes(6).toString('hex')}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: DEV_JWT_ALG, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: DEV_JWT_ALG, use: 'sig' };
  const keys: DevJwtKeys = { kid, privateJwk, publicJwks: { keys: [publicJwk] } };
  return JSON.parse(createOnce(dir, 'dev-jwt.json', JSON.stringify(keys, null, 2))) as DevJwtKeys;
}

export function loadOrCreateInternalSecret(dir = DEV_SECRETS_DIR): Buffer {
  const file = join(dir, 'internal-secret');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  return Buffer.from(createOnce(dir, 'internal-secret', randomBytes(32).toString('hex') + '\n').trim(), 'hex');
}

/** The development audit signing key (PKCS#8 PEM, Ed25519); production names its own in AUDIT_SIGNING_KEY_FILE. */
export function loadOrCreateAuditSigningKey(dir = DEV_SECRETS_DIR): string {
  const file = join(dir, 'audit-signing-key.pem');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const { privateKey } = generateKeyPairSync('ed25519');
  return createOnce(dir, 'audit-signing-key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}
