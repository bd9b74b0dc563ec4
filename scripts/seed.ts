/** Seeds the demo tenants into MONGODB_URI (idempotent). Used by docker-compose's one-shot seed service. */
import { seedDemoTenants } from '../subgraphs/seed';

const uri = process.env.MONGODB_URI;
if (!uri) {
  process.stderr.write('seed: MONGODB_URI is required\n');
  process.exit(2);
}
seedDemoTenants({ mongoUri: uri })
  .then(({ seeded }) => {
    process.stdout.write(seeded ? 'seeded the demo tenants\n' : 'demo tenants already present\n');
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
