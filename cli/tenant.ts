/** `tollgate tenant …`: create, list, show and change tenants; suspend and resume them. */
import { defaultDbName } from '../subgraphs/kit/database';
import { migrateSilo } from '../subgraphs/migrate';
import {
  AUTHZ_MODES,
  COST_MODES,
  ISOLATION_TIERS,
  SAFELIST_MODES,
  type TenantRecord,
  type TenantSettings,
} from '../gateway/src/tenants/tenant';
import { UsageError, list, oneOf, required, string, table, type Command, type Options, type Values } from './command';
import { requirePlan } from './known';
import { databases } from './migrate';

const TENANT_SETTING_OPTIONS: Options = {
  name: { type: 'string' },
  origins: { type: 'string' },
  'authz-mode': { type: 'string' },
  'cost-mode': { type: 'string' },
  'safelist-mode': { type: 'string' },
};

/** The tenant settings given as options; only those given. Modes are checked here (the message lists them); the registry validates the rest. */
function tenantSettings(values: Values): Partial<TenantSettings> {
  const settings: Partial<TenantSettings> = {};
  const name = string(values, 'name');
  if (name !== undefined) settings.name = name;
  const origins = string(values, 'origins');
  if (origins !== undefined) settings.origins = list(origins);
  const authzMode = string(values, 'authz-mode');
  if (authzMode !== undefined) settings.authzMode = oneOf(authzMode, AUTHZ_MODES, '--authz-mode');
  const costMode = string(values, 'cost-mode');
  if (costMode !== undefined) settings.costMode = oneOf(costMode, COST_MODES, '--cost-mode');
  const safelistMode = string(values, 'safelist-mode');
  if (safelistMode !== undefined) settings.safelistMode = oneOf(safelistMode, SAFELIST_MODES, '--safelist-mode');
  return settings;
}

function describeTenant(tenant: TenantRecord): string {
  const { limits } = tenant.plan;
  return [
    `tenant      ${tenant.id}`,
    `name        ${tenant.name}`,
    `status      ${tenant.status}`,
    `plan        ${tenant.plan.id} (max cost ${limits.maxCost}, budget ${limits.budget.capacity} at ${limits.budget.restoreRate}/s, depth ${limits.maxDepth})`,
    `isolation   ${tenant.isolation}`,
    `origins     ${tenant.origins.join(', ') || '-'}`,
    `authz mode  ${tenant.authzMode}`,
    `cost mode   ${tenant.costMode}`,
    `safelist    ${tenant.safelistMode}`,
  ].join('\n');
}

export function tenantTable(tenants: TenantRecord[]): string {
  return table(
    ['TENANT', 'STATUS', 'PLAN', 'AUTHZ', 'COST', 'SAFELIST', 'ORIGINS', 'NAME'],
    tenants.map((t) => [
      t.id,
      t.status,
      t.plan.id,
      t.authzMode,
      t.costMode,
      t.safelistMode,
      t.origins.join(',') || '-',
      t.name,
    ]),
  );
}

const TENANT_SETTINGS_USAGE = `[--origins <origin,…>] [--authz-mode ${AUTHZ_MODES.join('|')}]
      [--cost-mode ${COST_MODES.join('|')}] [--safelist-mode ${SAFELIST_MODES.join('|')}]`;

/** A settings change as the audit trail records it: scalars and lists only. */
function auditSettings(settings: Record<string, unknown>): Record<string, string | string[]> {
  const details: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (Array.isArray(value)) details[key] = value.map(String);
    else if (value !== undefined) details[key] = String(value);
  }
  return details;
}

export const TENANT_COMMANDS: Record<string, Command> = {
  'tenant create': {
    usage: `tenant create <id> --name <name> [--plan <plan>] [--isolation ${ISOLATION_TIERS.join('|')}] [--db <subgraph>=<database>,…]
      ${TENANT_SETTINGS_USAGE}`,
    summary:
      'Creates a tenant (active, pooled, plan free unless --plan, no origins, authz reject, cost enforce, safelist off). A silo tenant gets its own database in every subgraph, migrated here (--db names the shared ones, as for migrate).',
    options: {
      ...TENANT_SETTING_OPTIONS,
      plan: { type: 'string' },
      isolation: { type: 'string' },
      db: { type: 'string' },
    },
    positionals: ['id'],
    async run({ values, positionals, config, controlPlane, print, audit }) {
      const settings = tenantSettings(values);
      const plan = string(values, 'plan');
      const isolationOption = string(values, 'isolation');
      const isolation =
        isolationOption === undefined ? undefined : oneOf(isolationOption, ISOLATION_TIERS, '--isolation');
      const dbs = databases(string(values, 'db'));
      const registry = await controlPlane();
      if (plan !== undefined) await requirePlan(registry, plan);
      // A silo tenant's databases exist with their indexes before the gateways can route a request to them
      // (running subgraphs only verify indexes); migrating them again later is harmless.
      if (isolation === 'silo')
        await migrateSilo({
          mongoUri: config().controlPlane.mongoUri,
          tenantId: positionals[0]!,
          dbNameFor: (name) => dbs[name] ?? defaultDbName(name),
        });
      const tenant = await registry.tenants.createTenant({
        ...settings,
        id: positionals[0]!,
        name: required(values, 'name'),
        plan,
        ...(isolation ? { isolation } : {}),
      });
      audit(tenant.id, { name: tenant.name, plan: tenant.plan.id });
      print(tenant, () => `Created tenant ${tenant.id}.\n${describeTenant(tenant)}`);
    },
  },
  'tenant list': {
    usage: 'tenant list',
    summary: 'Lists the tenants.',
    async run({ controlPlane, print }) {
      const tenants = await (await controlPlane()).tenants.listTenants();
      print(tenants, () => tenantTable(tenants));
    },
  },
  'tenant show': {
    usage: 'tenant show <id>',
    summary: 'Shows a tenant with its plan.',
    positionals: ['id'],
    async run({ positionals, controlPlane, print }) {
      const tenant = await (await controlPlane()).tenants.getTenant(positionals[0]!);
      if (!tenant) throw new Error(`no tenant ${positionals[0]}`);
      print(tenant, () => describeTenant(tenant));
    },
  },
  'tenant set': {
    usage: `tenant set <id> [--name <name>] ${TENANT_SETTINGS_USAGE}`,
    summary: 'Changes the given settings of a tenant. --origins "" removes every origin.',
    options: TENANT_SETTING_OPTIONS,
    positionals: ['id'],
    async run({ values, positionals, controlPlane, print, audit }) {
      const settings = tenantSettings(values);
      if (Object.keys(settings).length === 0) throw new UsageError('give at least one setting to change');
      const tenant = await (await controlPlane()).tenants.updateTenant(positionals[0]!, settings);
      audit(tenant.id, auditSettings(settings));
      print(tenant, () => `Updated tenant ${tenant.id}.\n${describeTenant(tenant)}`);
    },
  },
  'tenant set-plan': {
    usage: 'tenant set-plan <id> <plan>',
    summary: 'Moves a tenant to another plan; its limits change on every gateway within 5 s.',
    positionals: ['id', 'plan'],
    async run({ positionals, controlPlane, print, audit }) {
      const registry = await controlPlane();
      await requirePlan(registry, positionals[1]!);
      const tenant = await registry.tenants.updateTenant(positionals[0]!, { plan: positionals[1]! });
      audit(tenant.id, { plan: tenant.plan.id });
      print(tenant, () => `Tenant ${tenant.id} is now on plan ${tenant.plan.id}.`);
    },
  },
  'tenant suspend': {
    usage: 'tenant suspend <id>',
    summary: 'Suspends a tenant: every gateway refuses its requests (403 TENANT_SUSPENDED) within 5 s.',
    positionals: ['id'],
    async run({ positionals, controlPlane, print, audit }) {
      const tenant = await (await controlPlane()).tenants.suspendTenant(positionals[0]!);
      audit(tenant.id, { status: tenant.status });
      print(tenant, () => `Suspended tenant ${tenant.id}.`);
    },
  },
  'tenant resume': {
    usage: 'tenant resume <id>',
    summary: 'Makes a suspended tenant active again.',
    positionals: ['id'],
    async run({ positionals, controlPlane, print, audit }) {
      const tenant = await (await controlPlane()).tenants.resumeTenant(positionals[0]!);
      audit(tenant.id, { status: tenant.status });
      print(tenant, () => `Resumed tenant ${tenant.id}.`);
    },
  },
};
