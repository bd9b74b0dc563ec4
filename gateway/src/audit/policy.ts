/**
 * A plan's audit policy: how long its tenants' events are kept, and whether its tenants' mutations need a complete
 * trail (refused while it cannot be kept: stage.ts). Read from the plan's limits (`auditRetentionDays`,
 * `auditCompleteTrail`, tenants/plan.ts); a plan stored before those existed gets the defaults of its id.
 */
import type { Plan } from '../tenants/plan';

export interface AuditPolicy {
  retentionDays: number;
  completeTrail: boolean;
}

export const DEFAULT_AUDIT_POLICIES: Readonly<Record<string, AuditPolicy>> = {
  free: { retentionDays: 30, completeTrail: false },
  pro: { retentionDays: 365, completeTrail: false },
  enterprise: { retentionDays: 7 * 365, completeTrail: true },
};

/** A custom plan without audit limits: a year, no complete-trail guarantee. */
export const FALLBACK_AUDIT_POLICY: AuditPolicy = { retentionDays: 365, completeTrail: false };

export function auditPolicyOf(plan: Pick<Plan, 'id' | 'limits'>): AuditPolicy {
  const base = DEFAULT_AUDIT_POLICIES[plan.id] ?? FALLBACK_AUDIT_POLICY;
  return {
    retentionDays: plan.limits.auditRetentionDays ?? base.retentionDays,
    completeTrail: plan.limits.auditCompleteTrail ?? base.completeTrail,
  };
}
