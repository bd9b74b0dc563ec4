/**
 * The demo tenants in the control plane: acme (plan pro, one origin) and globex (plan free), each with its partner
 * manifest `schema/operations/<tenant>-partner/generated/manifest.json`, published when `npm start` or
 * docker-compose seeds the tenant so a demo key created with `--manifest <tenant>-partner` runs at once. Their data
 * in the subgraphs is seeded by subgraph-data.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../common/paths';
import { DEFAULT_SUPERGRAPH_PATH } from '../gateway/src/config';
import { openControlPlane } from '../gateway/src/control-plane/open';
import { TenantExistsError } from '../gateway/src/control-plane/registry-common';
import { checkManifest } from '../gateway/src/persisted/manifest';
import type { ManifestRegistry } from '../gateway/src/persisted/registry';
import type { NewTenant } from '../gateway/src/tenants/registry';
import { buildApiSchema } from '../gateway/src/schema/api-schema';

const OPERATIONS_DIR = join(PROJECT_ROOT, 'schema', 'operations');

/** The demo tenants `npm start` and docker-compose serve; their data is seeded into the subgraphs by subgraph-data.ts. */
const DEMO_CONTROL_PLANE_TENANTS: readonly NewTenant[] = [
  { id: 'acme', name: 'Acme Corporation', plan: 'pro', origins: ['http://localhost:5173'] },
  { id: 'globex', name: 'Globex Corporation', plan: 'free' },
];

export async function publishDemoPartnerManifest(registry: ManifestRegistry, tenantId: string): Promise<void> {
  const client = `${tenantId}-partner`;
  const file = join(OPERATIONS_DIR, client, 'generated', 'manifest.json');
  const checked = checkManifest(
    JSON.parse(readFileSync(file, 'utf8')),
    buildApiSchema(readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8')),
  );
  if ('problems' in checked)
    throw new Error(`the demo manifest ${file} does not validate: ${checked.problems.join('; ')}`);
  await registry.publish(tenantId, client, checked.manifest);
}

/**
 * Creates the built-in plans and the demo tenants where missing, each with its partner manifest; running it again
 * changes nothing.
 */
export async function seedControlPlane(options: { mongoUri: string; dbName?: string }): Promise<{ seeded: boolean }> {
  const controlPlane = await openControlPlane(options);
  try {
    let seeded = false;
    for (const tenant of DEMO_CONTROL_PLANE_TENANTS) {
      try {
        await controlPlane.tenants.createTenant(tenant);
        await publishDemoPartnerManifest(controlPlane.manifests, tenant.id);
        seeded = true;
      } catch (error) {
        // Seeded by an earlier run (or a concurrent one): whatever an operator changed since stays as it is.
        if (!(error instanceof TenantExistsError)) throw error;
      }
    }
    return { seeded };
  } finally {
    await controlPlane.close();
  }
}
