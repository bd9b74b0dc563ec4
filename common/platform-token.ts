/**
 * The operator → subgraph trust contract of the platform API (tenant lifecycle: provision, stats, export, import,
 * erase, sweep).
 *
 * Verified like the gateway's request tokens (common/internal-token.ts), but never interchangeable with them:
 * - the key is derived from the subgraph's internal key under a label of its own, so a MAC valid for a gateway
 *   token is not valid here (and the other way round);
 * - the version prefix (`p1`), the audience (`platform:<subgraph>`) and the kind (`platform`) differ, so a gateway
 *   token replayed on the platform route fails on its prefix before anything else is read;
 * - it names one operation, one tenant and the SHA-256 of the exact request body, and lives under a minute.
 * The subgraph derives its platform key from the internal key it already holds; the CLI derives it from the
 * gateway's internal secret (the operator's, never a client's).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { deriveSubgraphKey } from './internal-token';

export const PLATFORM_TOKEN_HEADER = 'tollgate-platform';
export const PLATFORM_TOKEN_TTL_MS = 60_000;

const VERSION = 'p1';
const KEY_LABEL = 'tollgate/platform-api/v1';

export const PLATFORM_OPERATIONS = ['provision', 'stats', 'export', 'import', 'erase', 'sweep'] as const;
export type PlatformOperation = (typeof PLATFORM_OPERATIONS)[number];

export interface PlatformClaims {
  kind: 'platform';
  /** `platform:<subgraph>`. */
  aud: string;
  op: PlatformOperation;
  /** The tenant the operation is about. */
  ten: string;
  /** base64url SHA-256 of the exact request body. */
  bh: string;
  /** Request id, so the subgraph's log lines up with the CLI's. */
  rid: string;
  iat: number;
  exp: number;
}

export type PlatformTokenFailure =
  | 'malformed'
  | 'bad-signature'
  | 'wrong-audience'
  | 'wrong-operation'
  | 'expired'
  | 'ttl-too-long'
  | 'body-mismatch'
  | 'bad-claims';

export class PlatformTokenError extends Error {
  constructor(readonly reason: PlatformTokenFailure) {
    super(`platform token refused: ${reason}`);
    this.name = 'PlatformTokenError';
  }
}

export const platformAudience = (subgraph: string) => `platform:${subgraph}`;

/** The platform key of one subgraph, from the key that subgraph already holds. */
export function derivePlatformKey(subgraphKey: Buffer): Buffer {
  if (subgraphKey.length < 32) throw new Error('the subgraph key must be at least 32 bytes');
  return createHmac('sha256', subgraphKey).update(KEY_LABEL).digest();
}

/** The same key from the gateway's internal secret (what the CLI holds). */
export function platformKeyFromSecret(gatewaySecret: Buffer, subgraph: string): Buffer {
  return derivePlatformKey(deriveSubgraphKey(gatewaySecret, subgraph));
}

export function hashBody(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('base64url');
}

export function mintPlatformToken(key: Buffer, claims: PlatformClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', key).update(`${VERSION}.${payload}`).digest('base64url');
  return `${VERSION}.${payload}.${mac}`;
}

export interface PlatformVerifyOptions {
  key: Buffer;
  /** This subgraph's name. */
  subgraph: string;
  /** The operation of the route the request came to. */
  op: PlatformOperation;
  body: Buffer;
  now?: number;
}

export function verifyPlatformToken(token: string, options: PlatformVerifyOptions): PlatformClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) throw new PlatformTokenError('malformed');
  const [, payload, mac] = parts as [string, string, string];
  const expected = createHmac('sha256', options.key).update(`${VERSION}.${payload}`).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new PlatformTokenError('bad-signature');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new PlatformTokenError('malformed');
  }
  if (!isClaims(claims)) throw new PlatformTokenError('bad-claims');
  if (claims.aud !== platformAudience(options.subgraph)) throw new PlatformTokenError('wrong-audience');
  if (claims.op !== options.op) throw new PlatformTokenError('wrong-operation');
  const now = options.now ?? Date.now();
  if (claims.exp <= now) throw new PlatformTokenError('expired');
  if (claims.exp - claims.iat > PLATFORM_TOKEN_TTL_MS || claims.iat > now + 5_000)
    throw new PlatformTokenError('ttl-too-long');
  if (claims.bh !== hashBody(options.body)) throw new PlatformTokenError('body-mismatch');
  return claims;
}

function isClaims(value: unknown): value is PlatformClaims {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.kind === 'platform' &&
    typeof c.aud === 'string' &&
    (PLATFORM_OPERATIONS as readonly unknown[]).includes(c.op) &&
    typeof c.ten === 'string' &&
    typeof c.bh === 'string' &&
    typeof c.rid === 'string' &&
    Number.isSafeInteger(c.iat) &&
    Number.isSafeInteger(c.exp)
  );
}
