/**
 * What a plan allows. Plans live in the tenant registry (MongoDB, editable with the CLI); this is their typed,
 * validated shape and the built-in defaults a fresh registry starts with. Every limit a stage enforces comes from
 * here, so a tenant's limits are changed in one place.
 */
export interface PlanLimits {
  /** Maximum static cost of one operation; above it COST_ESTIMATED_TOO_EXPENSIVE. */
  maxCost: number;
  /** Leaky bucket per tenant × credential: how many cost points it holds, and how many it regains per second. */
  budget: { capacity: number; restoreRate: number };
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  /** Directives on one field (or fragment spread / inline fragment). */
  maxDirectivesPerField: number;
  /** Lexical tokens in the document. */
  maxTokens: number;
  /** Request body size in bytes. */
  maxBodyBytes: number;
  /** Days a tenant's audit events are kept (audit/retention.ts); absent: the plan id's default (audit/policy.ts). */
  auditRetentionDays?: number;
  /** Mutations are refused (503) while the audit trail cannot be kept complete (audit/stage.ts). */
  auditCompleteTrail?: boolean;
  /**
   * Cost points a tenant may be charged per calendar month (UTC), all credentials together; past it
   * QUOTA_EXCEEDED (pipeline/quota.ts). Absent: no monthly quota.
   */
  monthlyCostQuota?: number;
}

export interface Plan {
  id: string;
  name: string;
  limits: PlanLimits;
}

export const DEFAULT_PLANS: readonly Plan[] = [
  {
    id: 'free',
    name: 'Free',
    limits: {
      maxCost: 500,
      budget: { capacity: 1_000, restoreRate: 50 },
      maxDepth: 10,
      maxAliases: 10,
      maxRootFields: 5,
      maxDirectivesPerField: 3,
      maxTokens: 2_000,
      maxBodyBytes: 32_768,
      auditRetentionDays: 30,
      auditCompleteTrail: false,
      monthlyCostQuota: 5_000_000,
    },
  },
  {
    id: 'pro',
    name: 'Pro',
    limits: {
      maxCost: 2_000,
      budget: { capacity: 10_000, restoreRate: 500 },
      maxDepth: 14,
      maxAliases: 30,
      maxRootFields: 10,
      maxDirectivesPerField: 5,
      maxTokens: 5_000,
      maxBodyBytes: 131_072,
      auditRetentionDays: 365,
      auditCompleteTrail: false,
      monthlyCostQuota: 100_000_000,
    },
  },
  {
    id: 'enterprise',
    name: 'Enterprise',
    limits: {
      maxCost: 10_000,
      budget: { capacity: 100_000, restoreRate: 5_000 },
      maxDepth: 20,
      maxAliases: 100,
      maxRootFields: 20,
      maxDirectivesPerField: 8,
      maxTokens: 15_000,
      maxBodyBytes: 524_288,
      auditRetentionDays: 7 * 365,
      auditCompleteTrail: true,
    },
  },
];

const POSITIVE_INT_KEYS = [
  'maxCost',
  'maxDepth',
  'maxAliases',
  'maxRootFields',
  'maxDirectivesPerField',
  'maxTokens',
  'maxBodyBytes',
] as const;

/** Validates limits from an untrusted source (the registry, the CLI); returns the problems, empty when valid. */
export function planLimitProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['limits must be an object'];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of POSITIVE_INT_KEYS) {
    const n = v[key];
    if (!Number.isSafeInteger(n) || (n as number) < 1) problems.push(`${key} must be a positive integer`);
  }
  if (
    v.auditRetentionDays !== undefined &&
    (!Number.isSafeInteger(v.auditRetentionDays) || (v.auditRetentionDays as number) < 1)
  )
    problems.push('auditRetentionDays must be a positive integer');
  if (v.auditCompleteTrail !== undefined && typeof v.auditCompleteTrail !== 'boolean')
    problems.push('auditCompleteTrail must be true or false');
  const quota = v.monthlyCostQuota;
  if (quota !== undefined && quota !== null && (!Number.isSafeInteger(quota) || (quota as number) < 1))
    problems.push('monthlyCostQuota must be a positive integer when set');
  const budget = v.budget as Record<string, unknown> | undefined;
  if (typeof budget !== 'object' || budget === null) problems.push('budget must be an object');
  else {
    if (!Number.isSafeInteger(budget.capacity) || (budget.capacity as number) < 1)
      problems.push('budget.capacity must be a positive integer');
    if (typeof budget.restoreRate !== 'number' || !(budget.restoreRate > 0))
      problems.push('budget.restoreRate must be a positive number');
  }
  return problems;
}
