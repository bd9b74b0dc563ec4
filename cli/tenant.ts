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
import { UsageError, list, oneOf, string, table, type Command, type Options, type Values } from './command';
import { requirePlan } from './known';
import { databases } from './migrate';
import { loadPlatformApiSettings } from '../gateway/src/config-common';
import { onboardTenant, refuseErased } from './lifecycle/onboard';
import { erasureKeysFromEnv, pseudonymsOf } from './lifecycle/pseudonym';
import { isTenantId } from '../common/ids';
import { createPlatformClient } from './lifecycle/platform-client';

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
    usage: `tenant create <id> [--name <name>] [--plan <plan>] [--isolation ${ISOLATION_TIERS.join('|')}] [--db <subgraph>=<database>,…]
      [--admin-email <email> --admin-name <name>] ${TENANT_SETTINGS_USAGE}`,
    summary:
      'Creates a tenant (active, pooled unless --isolation, plan free unless --plan, named after its id unless --name, no origins, authz reject, cost enforce, safelist off) and, with --admin-email and --admin-name, its first admin in the accounts subgraph. A silo tenant gets its own database in every subgraph, migrated here (--db names the shared ones, as for migrate). A re-run with the same settings changes nothing.',
    options: {
      ...TENANT_SETTING_OPTIONS,
      plan: { type: 'string' },
      isolation: { type: 'string' },
      db: { type: 'string' },
      'admin-email': { type: 'string' },
      'admin-name': { type: 'string' },
    },
    positionals: ['id'],
    async run({ values, positionals, config, controlPlane, print, io, audit }) {
      const settings = tenantSettings(values);
      const plan = string(values, 'plan');
      const isolationOption = string(values, 'isolation');
      const isolation =
        isolationOption === undefined ? undefined : oneOf(isolationOption, ISOLATION_TIERS, '--isolation');
      const adminEmail = string(values, 'admin-email');
      const adminName = string(values, 'admin-name');
      if ((adminEmail === undefined) !== (adminName === undefined))
        throw new UsageError('give --admin-email and --admin-name together');
      const dbs = databases(string(values, 'db'));
      const registry = await controlPlane();
      if (plan !== undefined) await requirePlan(registry, plan);
      const id = positionals[0]!;
      // An erased id is refused before anything is made for it (a silo tenant's databases, below).
      const erased = isTenantId(id) ? pseudonymsOf(erasureKeysFromEnv(io.env), id) : [];
      await refuseErased(registry, id, erased);
      // A silo tenant's databases exist with their indexes before the gateways can route a request to them
      // (running subgraphs only verify indexes); migrating them again later is harmless.
      if (isolation === 'silo')
        await migrateSilo({
          mongoUri: config().controlPlane.mongoUri,
          tenantId: id,
          dbNameFor: (name) => dbs[name] ?? defaultDbName(name),
        });
      const result = await onboardTenant(
        registry,
        () => createPlatformClient(loadPlatformApiSettings(io.env)),
        { ...settings, id, name: settings.name ?? id, plan, ...(isolation ? { isolation } : {}) },
        adminEmail !== undefined && adminName !== undefined ? { email: adminEmail, name: adminName } : undefined,
        erased,
      );
      const { tenant, admin } = result;
      if (result.created) audit(tenant.id, { name: tenant.name, plan: tenant.plan.id, isolation: tenant.isolation });
      if (admin?.created) audit(tenant.id, { admin: admin.userId });
      // --json: the tenant record, as before; with an admin, also whether each was created by this run.
      print(admin ? { ...tenant, created: result.created, admin } : tenant, () =>
        [
          result.created ? `Created tenant ${tenant.id}.` : `Tenant ${tenant.id} already exists with these settings.`,
          describeTenant(tenant),
          ...(admin
            ? [`admin       ${admin.email} (user ${admin.userId}, ${admin.created ? 'created' : 'already there'})`]
            : []),
        ].join('\n'),
      );
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
