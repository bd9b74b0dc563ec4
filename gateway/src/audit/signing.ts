/**
 * Signed checkpoints: Ed25519 (node:crypto) over the canonical encoding of {tenant, seq, hash, time, kind, keyId}.
 * The private key lives apart from the database (a PEM file named by AUDIT_SIGNING_KEY_FILE, or outside production
 * the development key under .data/secrets): whoever can rewrite the audit collection still cannot sign a new head.
 * The public key (`tollgate audit public-key`) is all a verifier needs.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical';
import type { Checkpoint } from './event';

export interface AuditSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** The public key as SPKI PEM, for `tollgate audit public-key`. */
  publicKeyPem(): string;
  sign(checkpoint: Omit<Checkpoint, 'keyId' | 'signature'>): Checkpoint;
}

export class AuditKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditKeyError';
  }
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** A signer from a PKCS#8 PEM Ed25519 private key; the message never quotes the key. */
export function createAuditSigner(privateKeyPem: string): AuditSigner {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch {
    throw new AuditKeyError('the audit signing key is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new AuditKeyError('the audit signing key must be Ed25519');
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKey,
    publicKeyPem: () => publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign(body) {
      const unsigned = { ...body, keyId };
      const signature = sign(null, Buffer.from(canonicalJson(unsigned)), privateKey).toString('base64');
      return { ...unsigned, signature };
    },
  };
}

export function publicKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new AuditKeyError('not a PEM public (or private) key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AuditKeyError('the audit key must be Ed25519');
  return key;
}

/** Whether `checkpoint` was signed by `publicKey` over exactly its fields. */
export function checkpointSignedBy(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  const { signature, ...unsigned } = checkpoint;
  if (typeof signature !== 'string') return false;
  try {
    return verify(null, Buffer.from(canonicalJson(unsigned)), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
