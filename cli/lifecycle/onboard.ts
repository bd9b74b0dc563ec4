/**
 * `tollgate tenant create … --admin-email … --admin-name …`: registers the tenant in the control plane and
 * provisions its first admin in the accounts subgraph through the platform API. Idempotent: a re-run with the same
 * settings finds the tenant and the admin and changes nothing; the same id with other settings, or an erased
 * tenant's id (its pseudonymous tombstone, gateway/src/tenants/erased.ts), is refused.
 */
import { TenantExistsError } from '../../gateway/src/control-plane/registry-common';
import type { ControlPlane } from '../../gateway/src/control-plane/open';
import type { NewTenant } from '../../gateway/src/tenants/registry';
import type { TenantRecord } from '../../gateway/src/tenants/tenant';
import type { PlatformClient } from './platform-client';
import { placedPlatform, placementOf } from './placement';

export interface ProvisionedAdmin {
  userId: string;
  email: string;
  created: boolean;
}

export interface Onboarded {
  tenant: TenantRecord;
  /** False when the tenant already existed with these settings (a re-run). */
  created: boolean;
  admin?: ProvisionedAdmin;
}

/** The settings given that an existing tenant does not have; empty when a re-run may proceed. */
export function differingSettings(existing: TenantRecord, wanted: NewTenant): string[] {
  const differs: string[] = [];
  if (wanted.name !== existing.name) differs.push('name');
  if (wanted.plan !== undefined && wanted.plan !== existing.plan.id) differs.push('plan');
  if (wanted.origins !== undefined && wanted.origins.join(',') !== existing.origins.join(',')) differs.push('origins');
  if (wanted.authzMode !== undefined && wanted.authzMode !== existing.authzMode) differs.push('authz mode');
  if (wanted.costMode !== undefined && wanted.costMode !== existing.costMode) differs.push('cost mode');
  if (wanted.safelistMode !== undefined && wanted.safelistMode !== existing.safelistMode) differs.push('safelist mode');
  return differs;
}

/** Refuses an id that was erased (its tombstone is found under one of `erasedPseudonyms`). */
export async function refuseErased(
  controlPlane: ControlPlane,
  id: string,
  erasedPseudonyms: readonly string[],
): Promise<void> {
  if (await controlPlane.erasedTenants.anyErased(erasedPseudonyms))
    throw new Error(`tenant ${id} was erased; its id is not reused`);
}

export async function onboardTenant(
  controlPlane: ControlPlane,
  platform: () => PlatformClient,
  wanted: NewTenant,
  admin?: { email: string; name: string },
  /** The id's pseudonyms under every erasure key known (pseudonym.ts): an erased id has a tombstone under one. */
  erasedPseudonyms: readonly string[] = [],
): Promise<Onboarded> {
  // Before the insert: an erased tenant's record is gone, so nothing else would stop its id being handed out again.
  await refuseErased(controlPlane, wanted.id, erasedPseudonyms);
  let tenant: TenantRecord;
  let created = true;
  try {
    tenant = await controlPlane.tenants.createTenant(wanted);
  } catch (error) {
    if (!(error instanceof TenantExistsError)) throw error;
    const existing = await controlPlane.tenants.getTenant(wanted.id);
    if (!existing) throw error;
    const differs = differingSettings(existing, wanted);
    if (differs.length > 0)
      throw new Error(`tenant ${wanted.id} already exists with another ${differs.join(', ')}`, { cause: error });
    tenant = existing;
    created = false;
  }
  if (!admin) return { tenant, created };
  // Into the tenant's placement (a silo tenant's own accounts database); a tenant being moved is refused.
  const placed = placedPlatform(platform(), placementOf(tenant));
  const answer = await placed.call<{ result: ProvisionedAdmin }>('accounts', 'provision', tenant.id, { input: admin });
  return { tenant, created, admin: answer.result };
}
