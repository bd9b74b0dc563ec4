/**
 * A throwaway identity provider for tests: an ES256 key pair generated per test file, its public JWKS written to
 * a temporary file (a trusted-issuers file points at it), and a signer with sensible default claims.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet, type JWTPayload } from 'jose';
import { registerTestSecrets } from '../../../test/support/log-capture';

export const TEST_ISSUER = 'https://issuer.tollgate.test';
export const TEST_AUDIENCE = 'tollgate-test';
export const TEST_KID = 'test-key-1';

export interface TestIssuer {
  jwks: JSONWebKeySet;
  jwksFile: string;
  privateKey: CryptoKey;
  /** Signs `claims` over defaults (tenant acme, a customer, one hour); a claim set to `undefined` is left out. */
  sign(claims?: JWTPayload, header?: TestTokenHeader): Promise<string>;
}

export async function createTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid: TEST_KID, alg: 'ES256', use: 'sig' }] };
  // The signing key's private part must never be in a log line (test/support/log-scan.ts).
  registerTestSecrets((await exportJWK(privateKey)).d);
  const jwksFile = join(mkdtempSync(join(tmpdir(), 'tollgate-jwks-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
  return {
    jwks,
    jwksFile,
    privateKey,
    sign: (claims = {}, header = {}) => signTestToken(privateKey, claims, header),
  };
}

/**
 * `alg` and `kid` default to the test key's, `typ` to an access token's (`at+jwt`; `typ: undefined` leaves it out);
 * anything else (`jku`, `jwk`, …) is added to the protected header.
 */
export type TestTokenHeader = { alg?: string; kid?: string } & Record<string, unknown>;

export async function signTestToken(
  key: CryptoKey | Uint8Array,
  claims: JWTPayload = {},
  header: TestTokenHeader = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    sub: 'user-1',
    tenant: 'acme',
    roles: ['customer'],
    iat: now,
    exp: now + 3600,
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  const protectedHeader: Record<string, unknown> = {
    typ: 'at+jwt',
    ...header,
    alg: header.alg ?? 'ES256',
    kid: header.kid ?? TEST_KID,
  };
  if (protectedHeader.typ === undefined) delete protectedHeader.typ;
  return new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(key);
}
