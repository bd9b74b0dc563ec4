/** `tollgate plan …`: list the plans and change their limits. */
import type { Plan } from '../gateway/src/tenants/plan';
import type { PlanChange } from '../gateway/src/tenants/registry';
import { UsageError, positiveInteger, positiveNumber, string, table, type Command } from './command';
import { requirePlan } from './known';

const LIMIT_OPTIONS = {
  'max-cost': 'maxCost',
  'max-depth': 'maxDepth',
  'max-aliases': 'maxAliases',
  'max-root-fields': 'maxRootFields',
  'max-directives': 'maxDirectivesPerField',
  'max-tokens': 'maxTokens',
  'max-body-bytes': 'maxBodyBytes',
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
        name,
      ].map(String),
    ),
  );
}

export const PLAN_COMMANDS: Record<string, Command> = {
  'plan list': {
    usage: 'plan list',
    summary: 'Lists the plans and their limits.',
    async run({ controlPlane, print }) {
      const plans = await (await controlPlane()).tenants.listPlans();
      print(plans, () => planTable(plans));
    },
  },
  'plan set': {
    usage: `plan set <id> [--name <name>] [--max-cost <n>] [--budget-capacity <n>] [--budget-restore-rate <n>]
      [--max-depth <n>] [--max-aliases <n>] [--max-root-fields <n>] [--max-directives <n>] [--max-tokens <n>]
      [--max-body-bytes <n>]`,
    summary: 'Changes the given limits of a plan, for every tenant on it, within 5 s.',
    options: {
      name: { type: 'string' },
      'budget-capacity': { type: 'string' },
      'budget-restore-rate': { type: 'string' },
      ...Object.fromEntries(Object.keys(LIMIT_OPTIONS).map((option) => [option, { type: 'string' as const }])),
    },
    positionals: ['id'],
    async run({ values, positionals, controlPlane, print }) {
      // Checked here, so the message names the flag (`--max-cost`), not the registry's field (`maxCost`).
      const limits: NonNullable<PlanChange['limits']> = {};
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
      const name = string(values, 'name');
      if (Object.keys(limits).length === 0 && name === undefined)
        throw new UsageError('give at least one limit to change');
      const plans = await controlPlane();
      await requirePlan(plans, positionals[0]!);
      const plan = await plans.tenants.updatePlan(positionals[0]!, { limits, ...(name === undefined ? {} : { name }) });
      print(plan, () => `Updated plan ${plan.id}.\n${planTable([plan])}`);
    },
  },
};
