/**
 * The gateway → subgraph trust contract.
 *
 * For every subgraph fetch the gateway mints a short-lived token that names the subgraph (audience), the tenant,
 * the principal, its roles and the SHA-256 of the exact subgraph query. It is an HMAC-SHA256 over the payload with
 * a key derived per subgraph from the gateway's secret, so a subgraph holds only its own key: it can verify tokens
 * meant for it but cannot mint one that another subgraph accepts. HMAC rather than a signature because one heavy
 * query fans out into a dozen fetches: an HMAC costs a few microseconds, an asymmetric signature 100–200 µs.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The header the gateway sends the token in. Clients cannot set it: the gateway never forwards client headers. */
export const INTERNAL_TOKEN_HEADER = 'tollgate-context';

/** Tokens live under a minute; verification refuses anything that claims to live longer. */
export const MAX_TOKEN_TTL_MS = 60_000;
export const DEFAULT_TOKEN_TTL_MS = 30_000;

const VERSION = 'v1';
const KEY_LABEL = 'tollgate/internal-token/v1/';

export type InternalTokenKind =
  /** An operation on behalf of a caller of one tenant. */
  | 'op'
  /** The gateway's own health checks and schema loading: no tenant, only `_service` and `__typename`. */
  | 'svc';

export interface InternalClaims {
  kind: InternalTokenKind;
  /** The subgraph this token is for. */
  aud: string;
  /** Tenant id; empty for `svc` tokens. */
  ten: string;
  /** Principal (user id or API key id); empty for `svc` tokens. */
  sub: string;
  roles: readonly string[];
  /** base64url SHA-256 of the subgraph query text. */
  qh: string;
  /** Request id, so subgraph logs line up with the gateway's. */
  rid: string;
  /** Issued-at and expiry, milliseconds since the epoch. */
  iat: number;
  exp: number;
  /**
   * Deadline, milliseconds since the epoch: the gateway stops waiting for this fetch then, so the subgraph must
   * have answered by then and must not start anything after it. Inside the MAC, so nothing between gateway and
   * subgraph can extend it; absolute like `exp`, so a request that sat in a queue arrives already late. Optional
   * for tokens of gateways that predate it: the subgraph then applies its own maximum.
   */
  dl?: number;
  /**
   * `op` only: where the tenant's documents live (`pooled` or `silo`, subgraphs/kit/placement.ts) and the placement
   * epoch the gateway read it at. From the gateway's tenant snapshot, never from client input; inside the MAC.
   * Absent from tokens of gateways that predate tiers: the subgraph then serves the tenant pooled.
   */
  plc?: PlacementClaim;
}

export const PLACEMENT_TIERS = ['pooled', 'silo'] as const;
export interface PlacementClaim {
  tier: (typeof PLACEMENT_TIERS)[number];
  epoch: number;
}

export function isPlacementClaim(value: unknown): value is PlacementClaim {
  if (typeof value !== 'object' || value === null) return false;
  const { tier, epoch } = value as Record<string, unknown>;
  return (
    (PLACEMENT_TIERS as readonly unknown[]).includes(tier) && Number.isSafeInteger(epoch) && (epoch as number) >= 0
  );
}

export type InternalTokenFailure =
  'malformed' | 'bad-signature' | 'wrong-audience' | 'expired' | 'ttl-too-long' | 'query-mismatch' | 'bad-claims';

export class InternalTokenError extends Error {
  constructor(readonly reason: InternalTokenFailure) {
    super(`internal token refused: ${reason}`);
    this.name = 'InternalTokenError';
  }
}

/** The key one subgraph holds: derived from the gateway secret and the subgraph's name. */
export function deriveSubgraphKey(gatewaySecret: Buffer, subgraph: string): Buffer {
  if (gatewaySecret.length < 32) throw new Error('the gateway internal secret must be at least 32 bytes');
  return createHmac('sha256', gatewaySecret)
    .update(KEY_LABEL + subgraph)
    .digest();
}

export function hashQuery(query: string): string {
  return createHash('sha256').update(query).digest('base64url');
}

export function mintInternalToken(key: Buffer, claims: InternalClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', key).update(payload).digest('base64url');
  return `${VERSION}.${payload}.${mac}`;
}

export interface VerifyOptions {
  /** This subgraph's own key. */
  key: Buffer;
  /** This subgraph's name: tokens for any other audience are refused. */
  audience: string;
  /** The query text of the request the token came with. */
  query: string;
  now?: number;
}

export function verifyInternalToken(token: string, options: VerifyOptions): InternalClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) {
    throw new InternalTokenError('malformed');
  }
  const [, payload, mac] = parts as [string, string, string];
  const expected = createHmac('sha256', options.key).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new InternalTokenError('bad-signature');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new InternalTokenError('malformed');
  }
  if (!isClaims(claims)) throw new InternalTokenError('bad-claims');
  if (claims.aud !== options.audience) throw new InternalTokenError('wrong-audience');
  const now = options.now ?? Date.now();
  if (claims.exp <= now) throw new InternalTokenError('expired');
  if (claims.exp - claims.iat > MAX_TOKEN_TTL_MS || claims.iat > now + 5_000) {
    throw new InternalTokenError('ttl-too-long');
  }
  if (claims.qh !== hashQuery(options.query)) throw new InternalTokenError('query-mismatch');
  if (claims.kind === 'op' && (!claims.ten || !claims.sub)) throw new InternalTokenError('bad-claims');
  return claims;
}

function isClaims(value: unknown): value is InternalClaims {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    (c.kind === 'op' || c.kind === 'svc') &&
    typeof c.aud === 'string' &&
    typeof c.ten === 'string' &&
    typeof c.sub === 'string' &&
    Array.isArray(c.roles) &&
    c.roles.every((r) => typeof r === 'string') &&
    typeof c.qh === 'string' &&
    typeof c.rid === 'string' &&
    Number.isSafeInteger(c.iat) &&
    Number.isSafeInteger(c.exp) &&
    (c.dl === undefined ||
      (Number.isSafeInteger(c.dl) && (c.dl as number) > (c.iat as number) && (c.dl as number) <= (c.exp as number))) &&
    (c.plc === undefined || (c.kind === 'op' && isPlacementClaim(c.plc)))
  );
}
