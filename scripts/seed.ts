/**
 * Migrates (`tollgate migrate`: indexes, built-in plans) and seeds the demo tenants into MONGODB_URI (both
 * idempotent): their data in the subgraphs' databases and their entries (plans, origins, partner manifests) in the
 * gateway's control plane (demo/seed.ts). Used by docker-compose's one-shot seed service, which the subgraphs and
 * the gateway wait for: they only check the indexes exist. MONGODB_URI and CONTROL_DB are read and checked as the
 * gateway reads them.
 */
import { runTollgate } from '../cli/commands';
import { seedDemo } from '../demo/seed';
import { loadCommonConfig, type ControlPlaneSettings } from '../gateway/src/config-common';

function fail(code: number, error: unknown): never {
  process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(code);
}

// Seeding a default MongoDB nobody named would look like success while the platform reads another one.
if (!process.env.MONGODB_URI?.trim()) fail(2, 'MONGODB_URI is required');
let controlPlane: ControlPlaneSettings;
try {
  ({ controlPlane } = loadCommonConfig(process.env));
} catch (error) {
  fail(2, error);
}
runTollgate(['migrate'], {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
})
  .then((code) => {
    if (code !== 0) fail(code, 'tollgate migrate failed');
    return seedDemo({ mongoUri: controlPlane.mongoUri, controlDb: controlPlane.dbName });
  })
  .then(({ data, controlPlane: registered }) => {
    process.stdout.write(
      data.seeded || registered.seeded ? 'seeded the demo tenants\n' : 'demo tenants already present\n',
    );
    process.exit(0);
  })
  .catch((error: unknown) => fail(1, error));
