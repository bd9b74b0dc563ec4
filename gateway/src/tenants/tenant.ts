/**
 * What the gateway knows about a tenant: the registry stores it (registry.ts), the directory caches it
 * (directory.ts), every stage reads it. Like plan.ts, this is the typed, validated shape and nothing else, so the
 * CLI, the registry and the gateway agree on one vocabulary and one set of rules.
 */
import type { Plan } from './plan';

export const TENANT_STATUSES = ['active', 'suspended'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/**
 * Where a tenant's documents live in every subgraph: `pooled`, the subgraph's shared collections (every document
 * carries `tenantId`); `silo`, a database of its own per subgraph (subgraphs/kit/placement.ts), served by the same
 * subgraph processes. Chosen at creation, changed only by `tollgate tenant move` (tenants/move-state.ts).
 */
export const ISOLATION_TIERS = ['pooled', 'silo'] as const;
export type IsolationTier = (typeof ISOLATION_TIERS)[number];
export const SUPPORTED_ISOLATION_TIERS: readonly IsolationTier[] = ISOLATION_TIERS;

/**
 * A move between tiers in progress (stored in the control plane so an interrupted move resumes where it stopped):
 * `blocking` — writes refused, the copy may be under way; `switched` — the tenant is served from `to` (the
 * placement epoch was bumped), writes still refused until every replica has seen it.
 */
export const MOVE_PHASES = ['blocking', 'switched'] as const;
export type MovePhase = (typeof MOVE_PHASES)[number];
export interface TenantMove {
  readonly from: IsolationTier;
  readonly to: IsolationTier;
  readonly phase: MovePhase;
}

/** How the authorization stage treats a denied field: refuse the operation, drop the field, or only log. */
export const AUTHZ_MODES = ['reject', 'filter', 'shadow'] as const;
export type AuthzMode = (typeof AUTHZ_MODES)[number];

/** Whether an operation over the plan's cost is refused, or only measured. */
export const COST_MODES = ['enforce', 'measure'] as const;
export type CostMode = (typeof COST_MODES)[number];

/** Whether the tenant's frontends may only run safelisted operations. */
export const SAFELIST_MODES = ['off', 'log-unknown', 'enforce'] as const;
export type SafelistMode = (typeof SAFELIST_MODES)[number];

export const MAX_TENANT_NAME_LENGTH = 100;
export const MAX_ORIGINS = 50;

/** A tenant with its plan resolved: everything a stage needs to decide for this tenant. */
export interface TenantRecord {
  readonly id: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly isolation: IsolationTier;
  /**
   * Bumped by every switch of placement; carried to the subgraphs in the signed context with the tier, so a
   * subgraph can refuse a request placed by a gateway replica that has not yet seen the switch.
   */
  readonly placementEpoch: number;
  /** Present while `tollgate tenant move` runs: the gateway refuses the tenant's mutations (503 + Retry-After). */
  readonly move?: TenantMove;
  /**
   * Present once `tollgate tenant erase` has started on the tenant (registry.ts, `beginErasure`): it stays suspended,
   * and no move can start, until the erasure deletes the record.
   */
  readonly erasingSince?: Date;
  readonly plan: Plan;
  /** Web origins (`scheme://host[:port]`) whose pages may call the gateway for this tenant. */
  readonly origins: readonly string[];
  readonly authzMode: AuthzMode;
  readonly costMode: CostMode;
  readonly safelistMode: SafelistMode;
}

/** The settings of a tenant an operator may change; everything but the id. */
export interface TenantSettings {
  name: string;
  status: TenantStatus;
  isolation: IsolationTier;
  plan: string;
  origins: string[];
  authzMode: AuthzMode;
  costMode: CostMode;
  safelistMode: SafelistMode;
}

export const DEFAULT_TENANT_SETTINGS: Omit<TenantSettings, 'name' | 'plan'> = {
  status: 'active',
  isolation: 'pooled',
  origins: [],
  authzMode: 'reject',
  costMode: 'enforce',
  safelistMode: 'off',
};

const CONTROL_CHARACTERS = /\p{Cc}/u;

function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

/**
 * An origin exactly as a browser sends it: http(s), a host, an optional port, nothing else. Compared as strings
 * against the `Origin` header, so anything a browser would never send (a path, a trailing slash, upper case) is
 * refused here rather than silently never matching.
 */
export function isWebOrigin(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 200) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
}

/** Checks settings from an untrusted source (the CLI, a stored document); returns the problems, empty when valid. */
export function tenantSettingsProblems(settings: Partial<TenantSettings>): string[] {
  const problems: string[] = [];
  const { name, status, isolation, plan, origins, authzMode, costMode, safelistMode } = settings;
  if (name !== undefined) {
    if (
      typeof name !== 'string' ||
      name.trim().length === 0 ||
      name.length > MAX_TENANT_NAME_LENGTH ||
      CONTROL_CHARACTERS.test(name)
    ) {
      problems.push(`name must be 1–${MAX_TENANT_NAME_LENGTH} printable characters`);
    }
  }
  if (status !== undefined && !isOneOf(TENANT_STATUSES, status))
    problems.push(`status must be one of ${TENANT_STATUSES.join(', ')}`);
  if (isolation !== undefined && !isOneOf(SUPPORTED_ISOLATION_TIERS, isolation)) {
    problems.push(`isolation must be one of ${SUPPORTED_ISOLATION_TIERS.join(', ')}`);
  }
  if (plan !== undefined && !isPlanId(plan)) problems.push('plan must be a plan id such as "pro"');
  if (origins !== undefined) {
    if (!Array.isArray(origins) || origins.length > MAX_ORIGINS)
      problems.push(`origins must be a list of at most ${MAX_ORIGINS}`);
    else {
      const bad = origins.filter((origin) => !isWebOrigin(origin));
      if (bad.length > 0)
        problems.push('origins must be http(s) origins such as https://shop.example.com (no path, no trailing slash)');
    }
  }
  if (authzMode !== undefined && !isOneOf(AUTHZ_MODES, authzMode))
    problems.push(`authz mode must be one of ${AUTHZ_MODES.join(', ')}`);
  if (costMode !== undefined && !isOneOf(COST_MODES, costMode))
    problems.push(`cost mode must be one of ${COST_MODES.join(', ')}`);
  if (safelistMode !== undefined && !isOneOf(SAFELIST_MODES, safelistMode)) {
    problems.push(`safelist mode must be one of ${SAFELIST_MODES.join(', ')}`);
  }
  return problems;
}

/** Plan ids are slugs like tenant ids: they are document ids and appear in log lines. */
const PLAN_ID_PATTERN = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

export function isPlanId(value: unknown): value is string {
  return typeof value === 'string' && PLAN_ID_PATTERN.test(value);
}
