import { randomBytes } from 'node:crypto';
import { deriveSubgraphKey, hashQuery, mintInternalToken } from './internal-token';
import {
  PlatformTokenError,
  derivePlatformKey,
  hashBody,
  mintPlatformToken,
  platformAudience,
  platformKeyFromSecret,
  verifyPlatformToken,
  type PlatformClaims,
} from './platform-token';

const secret = randomBytes(32);
const subgraphKey = deriveSubgraphKey(secret, 'accounts');
const key = derivePlatformKey(subgraphKey);
const body = Buffer.from('{"tenant":"acme"}');
const now = 1_800_000_000_000;

function claims(change: Partial<PlatformClaims> = {}): PlatformClaims {
  return {
    kind: 'platform',
    aud: platformAudience('accounts'),
    op: 'stats',
    ten: 'acme',
    bh: hashBody(body),
    rid: 'r1',
    iat: now,
    exp: now + 30_000,
    ...change,
  };
}

function reason(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof PlatformTokenError ? error.reason : 'other';
  }
  return undefined;
}

describe('platform tokens', () => {
  const verify = (token: string, op: 'stats' | 'erase' = 'stats', given = body) =>
    verifyPlatformToken(token, { key, subgraph: 'accounts', op, body: given, now });

  it('the CLI (holding the gateway secret) and the subgraph (holding its own key) derive the same key', () => {
    expect(platformKeyFromSecret(secret, 'accounts').equals(key)).toBe(true);
    expect(key.equals(subgraphKey)).toBe(false);
    expect(platformKeyFromSecret(secret, 'products').equals(key)).toBe(false);
  });

  it('accepts a token for this subgraph, operation and body', () => {
    expect(verify(mintPlatformToken(key, claims())).ten).toBe('acme');
  });

  it('refuses a gateway request token, even one minted with the platform key', () => {
    const gatewayClaims = {
      kind: 'op' as const,
      aud: 'accounts',
      ten: 'acme',
      sub: 'u',
      roles: ['admin'],
      qh: hashQuery('{ me { id } }'),
      rid: 'r',
      iat: now,
      exp: now + 30_000,
    };
    expect(reason(() => verify(mintInternalToken(subgraphKey, gatewayClaims)))).toBe('malformed');
    expect(reason(() => verify(mintInternalToken(key, gatewayClaims)))).toBe('malformed');
    // Same payload under the platform prefix but the gateway's MAC: the MAC covers the prefix.
    const [, payload, mac] = mintInternalToken(key, gatewayClaims).split('.');
    expect(reason(() => verify(`p1.${payload}.${mac}`))).toBe('bad-signature');
  });

  it('refuses another audience, operation, body, an expired or too long-lived token, a bad MAC', () => {
    expect(reason(() => verify(mintPlatformToken(key, claims({ aud: platformAudience('products') }))))).toBe(
      'wrong-audience',
    );
    expect(reason(() => verify(mintPlatformToken(key, claims()), 'erase'))).toBe('wrong-operation');
    expect(reason(() => verify(mintPlatformToken(key, claims()), 'stats', Buffer.from('{"tenant":"globex"}')))).toBe(
      'body-mismatch',
    );
    expect(reason(() => verify(mintPlatformToken(key, claims({ exp: now }))))).toBe('expired');
    expect(reason(() => verify(mintPlatformToken(key, claims({ exp: now + 3_600_000 }))))).toBe('ttl-too-long');
    expect(reason(() => verify(mintPlatformToken(randomBytes(32), claims())))).toBe('bad-signature');
    expect(reason(() => verify('p1.x'))).toBe('malformed');
    expect(reason(() => verify(mintPlatformToken(key, { ...claims(), kind: 'op' } as unknown as PlatformClaims)))).toBe(
      'bad-claims',
    );
  });
});
