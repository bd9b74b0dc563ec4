/**
 * Seeds the demo tenants into MONGODB_URI (idempotent): their data in the subgraphs' databases and their entries
 * (plans, origins, partner manifests) in the gateway's control plane (demo/seed.ts). Used by docker-compose's
 * one-shot seed service.
 */
import { seedDemo } from '../demo/seed';

const uri = process.env.MONGODB_URI;
if (!uri) {
  process.stderr.write('seed: MONGODB_URI is required\n');
  process.exit(2);
}
seedDemo({ mongoUri: uri, controlDb: process.env.CONTROL_DB })
  .then(({ data, controlPlane }) => {
    process.stdout.write(data.seeded || controlPlane.seeded ? 'seeded the demo tenants\n' : 'demo tenants already present\n');
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
