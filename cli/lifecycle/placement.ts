/**
 * Where a tenant's documents are, for the platform calls of export, import, sweep and provisioning
 * (subgraphs/kit/platform/api.ts): the tenant's tier and placement epoch as the control plane has them, signed
 * into every call's body — the same source as the gateway's `plc` claim, so the subgraph serves a silo tenant from
 * its own database and refuses a placement older than one it has already served (409 STALE_PLACEMENT).
 *
 * A tenant being moved (`tenant move`, cli/tenant-move.ts) is refused before anything is called (TenantMovingError):
 * while a move copies, a platform write to the old placement would be lost with it. A move that begins while a
 * command runs is caught afterwards (`requireUnmoved`): the command fails and says to run it again once the move
 * has finished (every lifecycle command is idempotent). `erase` names no placement: it reaches both.
 */
import type { PlacementClaim } from '../../common/internal-token';
import type { ControlPlane } from '../../gateway/src/control-plane/open';
import type { TenantRecord } from '../../gateway/src/tenants/tenant';
import type { PlatformClient } from './platform-client';

/** The refusal's code, in its message (the CLI's refusals are exit code 1 and one line on stderr). */
export const TENANT_MOVING = 'TENANT_MOVING';

export class TenantMovingError extends Error {
  readonly code = TENANT_MOVING;
  constructor(tenantId: string, during?: string) {
    super(
      during
        ? `tenant ${tenantId} was moved between tiers during the ${during} (${TENANT_MOVING}): run it again once \`tenant move\` has finished`
        : `tenant ${tenantId} is being moved between tiers (${TENANT_MOVING}): run this again once \`tenant move ${tenantId}\` has finished`,
    );
    this.name = 'TenantMovingError';
  }
}

/** The placement of a tenant record; refuses one being moved. */
export function placementOf(tenant: TenantRecord): PlacementClaim {
  if (tenant.move !== undefined) throw new TenantMovingError(tenant.id);
  return { tier: tenant.isolation, epoch: tenant.placementEpoch };
}

/** The tenant's placement now; refuses a missing tenant or one being moved. */
export async function currentPlacement(controlPlane: ControlPlane, tenantId: string): Promise<PlacementClaim> {
  const tenant = await controlPlane.tenants.getTenant(tenantId);
  if (!tenant) throw new Error(`no tenant ${tenantId}`);
  return placementOf(tenant);
}

/** Throws TenantMovingError when the tenant's placement is no longer `placement` (a move began or ended since). */
export async function requireUnmoved(
  controlPlane: ControlPlane,
  tenantId: string,
  placement: PlacementClaim,
  during: string,
): Promise<void> {
  const tenant = await controlPlane.tenants.getTenant(tenantId);
  if (
    tenant &&
    (tenant.move !== undefined || tenant.isolation !== placement.tier || tenant.placementEpoch !== placement.epoch)
  )
    throw new TenantMovingError(tenantId, during);
}

/** `platform` with `placement` added to the body of every call but `erase` (which reaches every placement). */
export function placedPlatform(platform: PlatformClient, placement: PlacementClaim): PlatformClient {
  return {
    subgraphs: platform.subgraphs,
    call: <T>(...[subgraph, op, tenant, body = {}]: Parameters<PlatformClient['call']>) =>
      platform.call<T>(subgraph, op, tenant, op === 'erase' ? body : { ...body, placement }),
    lines: (subgraph, op, tenant, body) => platform.lines(subgraph, op, tenant, { ...body, placement }),
  };
}
