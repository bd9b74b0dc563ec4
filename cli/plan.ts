/** `tollgate plan …`: list the plans, create one, and change their limits. */
import type { Plan, PlanLimits } from '../gateway/src/tenants/plan';
import type { PlanChange } from '../gateway/src/tenants/plan-store';
import { UsageError, positiveInteger, positiveNumber, string, table, type Command, type Values } from './command';
import { isPlanId } from '../gateway/src/tenants/tenant';
import { requirePlan } from './known';
import { PLATFORM_AUDIT_TENANT } from './audit-record';

/** A plan's limits as the audit trail records them: flat, numbers as strings where they may be fractional. */
function flatLimits(limits: PlanLimits): Record<string, string | number | boolean> {
  const { budget, ...scalars } = limits;
  const flat: Record<string, string | number | boolean> = {
    budgetCapacity: budget.capacity,
    budgetRestoreRate: String(budget.restoreRate),
  };
  for (const [key, value] of Object.entries(scalars)) if (value !== undefined) flat[key] = value;
  return flat;
}

const LIMIT_OPTIONS = {
  'max-cost': 'maxCost',
  'max-depth': 'maxDepth',
  'max-aliases': 'maxAliases',
  'max-root-fields': 'maxRootFields',
  'max-directives': 'maxDirectivesPerField',
  'max-tokens': 'maxTokens',
  'max-body-bytes': 'maxBodyBytes',
  'monthly-cost-quota': 'monthlyCostQuota',
} as const;

function planTable(plans: Plan[]): string {
  return table(
    [
      'PLAN',
      'MAX COST',
      'BUDGET',
      'RESTORE/S',
      'DEPTH',
      'ALIASES',
      'ROOT FIELDS',
      'DIRECTIVES',
      'TOKENS',
      'BODY BYTES',
      'MONTHLY QUOTA',
      'NAME',
    ],
    plans.map(({ id, name, limits: l }) =>
      [
        id,
        l.maxCost,
        l.budget.capacity,
        l.budget.restoreRate,
        l.maxDepth,
        l.maxAliases,
        l.maxRootFields,
        l.maxDirectivesPerField,
        l.maxTokens,
        l.maxBodyBytes,
        l.monthlyCostQuota ?? '-',
        name,
      ].map(String),
    ),
  );
}

type LimitChange = NonNullable<PlanChange['limits']>;

/** The limits given on the command line; checked here, so a message names the flag (`--max-cost`), not `maxCost`. */
function limitOptions(values: Values): LimitChange {
  const limits: LimitChange = {};
  for (const [option, key] of Object.entries(LIMIT_OPTIONS)) {
    const value = string(values, option);
    if (value !== undefined) limits[key] = positiveInteger(value, `--${option}`);
  }
  const capacity = string(values, 'budget-capacity');
  const restoreRate = string(values, 'budget-restore-rate');
  if (capacity !== undefined || restoreRate !== undefined) {
    limits.budget = {
      ...(capacity === undefined ? {} : { capacity: positiveInteger(capacity, '--budget-capacity') }),
      ...(restoreRate === undefined ? {} : { restoreRate: positiveNumber(restoreRate, '--budget-restore-rate') }),
    };
  }
  return limits;
}

const LIMIT_USAGE = `[--budget-capacity <n>] [--budget-restore-rate <n>] [--max-depth <n>] [--max-aliases <n>]
      [--max-root-fields <n>] [--max-directives <n>] [--max-tokens <n>] [--max-body-bytes <n>]
      [--monthly-cost-quota <n>]`;

const LIMIT_FLAGS = {
  'budget-capacity': { type: 'string' as const },
  'budget-restore-rate': { type: 'string' as const },
  ...Object.fromEntries(Object.keys(LIMIT_OPTIONS).map((option) => [option, { type: 'string' as const }])),
};

/** Limits a new plan does not name come from this built-in plan unless --from names another: the smallest. */
const DEFAULT_BASE_PLAN = 'free';

export const PLAN_COMMANDS: Record<string, Command> = {
  'plan list': {
    usage: 'plan list',
    summary: 'Lists the plans and their limits.',
    async run({ controlPlane, print }) {
      const plans = await (await controlPlane()).tenants.listPlans();
      print(plans, () => planTable(plans));
    },
  },
  'plan create': {
    usage: `plan create <id> --max-cost <n> [--name <name>] [--from <plan>] ${LIMIT_USAGE}`,
    summary: `Creates a plan; the limits not given are those of --from (default ${DEFAULT_BASE_PLAN}).`,
    options: { name: { type: 'string' }, from: { type: 'string' }, ...LIMIT_FLAGS },
    positionals: ['id'],
    async run({ values, positionals, controlPlane, print, audit }) {
      const id = positionals[0]!;
      if (!isPlanId(id))
        throw new UsageError(
          `plan id must be 2–40 lowercase letters, digits and "-", starting with a letter (not "${id}")`,
        );
      // The plan's price in cost points is the one limit with no sensible inherited value: it must be chosen.
      if (string(values, 'max-cost') === undefined) throw new UsageError('--max-cost is required');
      const given = limitOptions(values);
      const plans = await controlPlane();
      const from = string(values, 'from') ?? DEFAULT_BASE_PLAN;
      await requirePlan(plans, from);
      const base = (await plans.tenants.getPlan(from))!;
      const { budget, ...scalars } = given;
      const limits: PlanLimits = { ...base.limits, ...scalars, budget: { ...base.limits.budget, ...budget } };
      const plan = await plans.tenants.createPlan({ id, name: string(values, 'name') ?? id, limits });
      audit(PLATFORM_AUDIT_TENANT, { plan: plan.id, from, ...flatLimits(plan.limits) });
      print(plan, () => `Created plan ${plan.id}.\n${planTable([plan])}`);
    },
  },
  'plan set': {
    usage: `plan set <id> [--name <name>] [--max-cost <n>] ${LIMIT_USAGE}`,
    summary: 'Changes the given limits of a plan, for every tenant on it, within 5 s.',
    options: { name: { type: 'string' }, ...LIMIT_FLAGS },
    positionals: ['id'],
    async run({ values, positionals, controlPlane, print, audit }) {
      const limits = limitOptions(values);
      const name = string(values, 'name');
      if (Object.keys(limits).length === 0 && name === undefined)
        throw new UsageError('give at least one limit to change');
      const plans = await controlPlane();
      await requirePlan(plans, positionals[0]!);
      const plan = await plans.tenants.updatePlan(positionals[0]!, { limits, ...(name === undefined ? {} : { name }) });
      audit(PLATFORM_AUDIT_TENANT, { plan: plan.id, ...flatLimits(plan.limits) });
      print(plan, () => `Updated plan ${plan.id}.\n${planTable([plan])}`);
    },
  },
};
