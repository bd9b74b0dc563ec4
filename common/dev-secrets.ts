/**
 * Development secrets, generated on first start under .data/secrets (git-ignored) and reused afterwards:
 * the JWT signing key pair that `npm run token` signs with and the gateway trusts in development, and the
 * gateway's internal secret from which each subgraph's key is derived, and the audit trail's Ed25519 checkpoint
 * signing key (gateway/src/audit/signing.ts). Production supplies its own.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

export async function loadOrCreateDevJwtKeys(dir = DEV_SECRETS_DIR): Promise<DevJwtKeys> {
  const file = join(dir, 'dev-jwt.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevJwtKeys;
  const { privateKey, publicKey } = await generateKeyPair(DEV_JWT_ALG, { extractable: true });
  const kid = `dev-${randomBytes(6).toString('hex')}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: DEV_JWT_ALG, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: DEV_JWT_ALG, use: 'sig' };
  const keys: DevJwtKeys = { kid, privateJwk, publicJwks: { keys: [publicJwk] } };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

export function loadOrCreateInternalSecret(dir = DEV_SECRETS_DIR): Buffer {
  const file = join(dir, 'internal-secret');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  const secret = randomBytes(32);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, secret.toString('hex') + '\n', { mode: 0o600 });
  return secret;
}

/** The development audit signing key (PKCS#8 PEM, Ed25519); production names its own in AUDIT_SIGNING_KEY_FILE. */
export function loadOrCreateAuditSigningKey(dir = DEV_SECRETS_DIR): string {
  const file = join(dir, 'audit-signing-key.pem');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, pem, { mode: 0o600 });
  return pem;
}
