/**
 * Demo seeding, all of it: the demo tenants' data in the subgraphs' databases (subgraph-data.ts) and their entries
 * in the gateway's control plane — plans, origins, partner manifests (control-plane.ts). `npm start`
 * (scripts/start.ts) and docker-compose's one-shot seed service (scripts/seed.ts) call this; it is idempotent.
 *
 * Why a top-level folder: the demo spans the subgraphs and the gateway, so it belongs to neither. It depends on
 * both and nothing in either depends on it, which keeps demo data out of the gateway's import graph.
 */
import { seedControlPlane } from './control-plane';
import { seedDemoTenants } from './subgraph-data';

export interface SeedDemoOptions {
  /** The MongoDB both the subgraphs and the control plane live in (each in databases of its own). */
  mongoUri: string;
  /** The control plane's database (CONTROL_DB); its default when absent. */
  controlDb?: string;
}

/** What each half found: `seeded` is false when everything was already there (nothing is ever overwritten). */
export interface SeedDemoResult {
  data: { seeded: boolean };
  controlPlane: { seeded: boolean };
}

export async function seedDemo(options: SeedDemoOptions): Promise<SeedDemoResult> {
  const [data, controlPlane] = await Promise.all([
    seedDemoTenants({ mongoUri: options.mongoUri }),
    seedControlPlane({
      mongoUri: options.mongoUri,
      ...(options.controlDb === undefined ? {} : { dbName: options.controlDb }),
    }),
  ]);
  return { data, controlPlane };
}
