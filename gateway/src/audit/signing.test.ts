import { generateKeyPairSync } from 'node:crypto';
import { AuditKeyError, checkpointSignedBy, createAuditSigner, publicKeyFromPem } from './signing';

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('audit checkpoint signing', () => {
  it('signs a checkpoint that verifies with the exported public key, and with no other', () => {
    const signer = createAuditSigner(pem());
    const checkpoint = signer.sign({
      tenant: 'acme',
      seq: 7,
      hash: 'a'.repeat(64),
      time: '2026-12-07T00:00:00.000Z',
      kind: 'head',
    });
    expect(checkpoint.keyId).toBe(signer.keyId);
    expect(checkpointSignedBy(checkpoint, publicKeyFromPem(signer.publicKeyPem()))).toBe(true);
    expect(checkpointSignedBy(checkpoint, createAuditSigner(pem()).publicKey)).toBe(false);
  });

  it('refuses a checkpoint changed in any field', () => {
    const signer = createAuditSigner(pem());
    const checkpoint = signer.sign({
      tenant: 'acme',
      seq: 7,
      hash: 'a'.repeat(64),
      time: '2026-12-07T00:00:00.000Z',
      kind: 'head',
    });
    for (const change of [{ seq: 8 }, { tenant: 'globex' }, { hash: 'b'.repeat(64) }, { kind: 'cut' as const }]) {
      expect(checkpointSignedBy({ ...checkpoint, ...change }, signer.publicKey)).toBe(false);
    }
    expect(checkpointSignedBy({ ...checkpoint, signature: 'garbage' }, signer.publicKey)).toBe(false);
  });

  it('refuses a key that is not an Ed25519 PEM, without quoting it', () => {
    expect(() => createAuditSigner('not a key')).toThrow(AuditKeyError);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => createAuditSigner(ec)).toThrow('must be Ed25519');
  });
});
