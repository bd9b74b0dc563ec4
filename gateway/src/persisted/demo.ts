/**
 * The partner manifest each demo tenant ships with: `schema/operations/<tenant>-partner/generated/manifest.json`,
 * published when `npm start` or docker-compose seeds the tenant, so a demo key created with
 * `--manifest <tenant>-partner` runs at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../common/paths';
import { buildApiSchema } from '../authz/gate';
import { DEFAULT_SUPERGRAPH_PATH } from '../config';
import { checkManifest } from './manifest';
import type { ManifestRegistry } from './registry';

const OPERATIONS_DIR = join(PROJECT_ROOT, 'schema', 'operations');

export async function publishDemoPartnerManifest(registry: ManifestRegistry, tenantId: string): Promise<void> {
  const client = `${tenantId}-partner`;
  const file = join(OPERATIONS_DIR, client, 'generated', 'manifest.json');
  const checked = checkManifest(JSON.parse(readFileSync(file, 'utf8')), buildApiSchema(readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8')));
  if ('problems' in checked) throw new Error(`the demo manifest ${file} does not validate: ${checked.problems.join('; ')}`);
  await registry.publish(tenantId, client, checked.manifest);
}
