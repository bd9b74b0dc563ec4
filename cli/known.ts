/**
 * Checks that what a command names exists, before it is used, with messages that list what does: `no plan
 * platinum; the plans are enterprise, free, pro` rather than the registry's bare `no plan platinum`. They fail with
 * exit code 1 (the command line was well formed; the control plane has no such thing).
 */
import type { ControlPlane } from '../gateway/src/control-plane/open';

export async function requirePlan(controlPlane: ControlPlane, id: string): Promise<void> {
  const plans = await controlPlane.tenants.listPlans();
  if (plans.some((plan) => plan.id === id)) return;
  throw new Error(
    `no plan ${id}; the plans are ${plans.map((plan) => plan.id).join(', ') || 'none (run the seed first)'}`,
  );
}

export async function requireTenant(controlPlane: ControlPlane, id: string): Promise<void> {
  if (await controlPlane.tenants.getTenant(id)) return;
  const tenants = await controlPlane.tenants.listTenants();
  throw new Error(`no tenant ${id}; the tenants are ${tenants.map((tenant) => tenant.id).join(', ') || 'none'}`);
}

/** The clients of the tenant's manifests that have a version served (not every version retired), sorted. */
export async function servedManifests(controlPlane: ControlPlane, tenantId: string): Promise<string[]> {
  const versions = await controlPlane.manifests.list(tenantId);
  return [...new Set(versions.filter((version) => !version.retiredAt).map((version) => version.client))].sort();
}

/**
 * An API key names the manifest it may run: one the tenant does not serve would make every call with the key fail
 * with PERSISTED_QUERY_NOT_IN_LIST, so it is refused when the key is made.
 */
export async function requireManifest(controlPlane: ControlPlane, tenantId: string, client: string): Promise<void> {
  const served = await servedManifests(controlPlane, tenantId);
  if (served.includes(client)) return;
  throw new Error(
    served.length === 0
      ? `tenant ${tenantId} serves no manifest yet: publish one first (manifest publish <file> --tenant ${tenantId} --manifest <id>)`
      : `tenant ${tenantId} serves no manifest ${client}; its manifests are ${served.join(', ')}`,
  );
}
