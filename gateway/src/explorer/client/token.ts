/**
 * The pasted token, as far as the page needs it: its claims for display (the gateway verifies the signature; this
 * page cannot and need not) and its expiry. Pure, so tested on its own; keeping it is session.ts.
 */

export interface Claims {
  readonly tenant?: unknown;
  readonly roles?: unknown;
  readonly sub?: unknown;
  readonly exp?: unknown;
}

export function claimsOf(token: string): Claims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as Claims) : undefined;
  } catch {
    return undefined;
  }
}

export function rolesOf(claims: Claims | undefined): string[] {
  return Array.isArray(claims?.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
}

/** "expires in 1h 02m", "expires in 42s", "expired", or undefined without an `exp`. */
export function expiryText(claims: Claims | undefined, nowMs: number): { text: string; expired: boolean } | undefined {
  if (typeof claims?.exp !== 'number') return undefined;
  const left = Math.floor(claims.exp - nowMs / 1000);
  if (left <= 0) return { text: 'expired', expired: true };
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  const text = h > 0 ? `${h}h ${pad(m)}m` : m > 0 ? `${m}m ${pad(s)}s` : `${s}s`;
  return { text: `expires in ${text}`, expired: false };
}
