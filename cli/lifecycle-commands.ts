/**
 * `tollgate tenant erase|export|import|sweep`: the tenant data lifecycle (cli/lifecycle/), through the subgraphs'
 * signed platform API — the CLI never writes a subgraph's database itself. Pooled and silo tenants alike: each call
 * names the tenant's placement (cli/lifecycle/placement.ts); a tenant being moved is refused (TENANT_MOVING).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { loadPlatformApiSettings } from '../gateway/src/config-common';
import { UsageError, duration, required, string, type Command, type Context } from './command';
import { eraseTenant, formatReceipt } from './lifecycle/erase';
import { auditSignerFromEnv, openAuditStore, operatorHmacKey, operatorOf } from './audit-record';
import { createErasureTrail } from './lifecycle/erasure-trail';
import { erasureKeysFromEnv, pseudonymOf, pseudonymsOf } from './lifecycle/pseudonym';
import { destroyTenantKeys, keyTargetsFromEnv } from './rotate-key';
import { exportTenant, importTenant } from './lifecycle/export';
import { createPlatformClient } from './lifecycle/platform-client';
import { purgeTenantKeys } from './lifecycle/redis-purge';
import { formatSweep, sweepTenant, type TenantSweep } from './lifecycle/retention';
import { parseRetentionPolicy, rulesFor } from './lifecycle/retention-policy';
import { readFile } from 'node:fs/promises';
import { createLogger } from '../common/logger';
import { requireTenant } from './known';
import { currentPlacement, placedPlatform, placementOf, requireUnmoved } from './lifecycle/placement';

const platformOf = (context: Context) => createPlatformClient(loadPlatformApiSettings(context.io.env));

/** A line writer with backpressure onto `stream`. */
function streamWriter(stream: NodeJS.WritableStream) {
  return async (line: string) => {
    if (!stream.write(`${line}\n`)) await once(stream, 'drain');
  };
}

export const LIFECYCLE_COMMANDS: Record<string, Command> = {
  'tenant erase': {
    usage: 'tenant erase <id> --confirm <id> [--settle <duration>]',
    summary:
      'Erases a tenant: suspends it, destroys its data key, deletes its documents in every subgraph, revokes and deletes its API keys and manifests, purges its Redis entries and usage, replaces its record by a pseudonymous tombstone, seals its audit chain in the platform chain under that pseudonym and deletes it, and prints the erasure receipt. Idempotent.',
    options: { confirm: { type: 'string' }, settle: { type: 'string' } },
    positionals: ['id'],
    async run(context) {
      const { values, positionals, controlPlane, config, print, io } = context;
      const id = positionals[0]!;
      if (required(values, 'confirm') !== id) throw new UsageError('--confirm must repeat the tenant id');
      const settle = string(values, 'settle');
      const keys = erasureKeysFromEnv(io.env);
      const registry = await controlPlane();
      // Erase reaches both placements whatever the tenant's is; a tenant being moved is still refused: the move's
      // copy could bring back what was just deleted. A re-run after the record became a tombstone has no placement.
      const existing = await registry.tenants.getTenant(id);
      const placement = existing ? placementOf(existing) : undefined;
      const { redisUrl, controlPlane: settings } = config();
      // Not the command's audit hook (`context.audit`): the record names the tenant by its pseudonym only, and is
      // written before the tenant's chain is deleted (cli/lifecycle/erasure-trail.ts).
      const signer = auditSignerFromEnv(io.env);
      const store = await openAuditStore(io.env, settings);
      try {
        const receipt = await eraseTenant({
          tenantId: id,
          pseudonym: { current: pseudonymOf(keys, id), keyId: keys.keyId, all: pseudonymsOf(keys, id) },
          controlPlane: registry,
          platform: platformOf(context),
          // Crypto-shredding (subgraphs/kit/encryption): the tenant's keys in every encrypting subgraph.
          tenantKeys: { destroyDataKey: (tenant) => destroyTenantKeys(keyTargetsFromEnv(io.env), tenant) },
          trail: createErasureTrail({
            store,
            signer,
            operator: operatorOf(io.env),
            hmacKey: operatorHmacKey(io.env),
          }),
          purgeRedis: (tenant) => purgeTenantKeys(redisUrl, tenant),
          settleMs: settle === undefined ? 5_000 : duration(settle, '--settle'),
        });
        print(receipt, () => formatReceipt(receipt));
        if (placement) await requireUnmoved(registry, id, placement, 'erasure');
        return receipt.complete ? 0 : 1;
      } finally {
        await store.close();
      }
    },
  },
  'tenant export': {
    usage: 'tenant export <id> [--out <file>]',
    summary:
      'Streams every document of the tenant from every subgraph as NDJSON, ending with a manifest of counts and checksums per subgraph and collection (to --out, or standard output).',
    options: { out: { type: 'string' } },
    positionals: ['id'],
    async run(context) {
      const { values, positionals, controlPlane, io } = context;
      const id = positionals[0]!;
      const registry = await controlPlane();
      await requireTenant(registry, id);
      const placement = await currentPlacement(registry, id);
      const out = string(values, 'out');
      const platform = placedPlatform(platformOf(context), placement);
      if (out === undefined) {
        const write = io.output ? streamWriter(io.output) : async (line: string) => io.stdout(`${line}\n`);
        await exportTenant(platform, id, write);
        await requireUnmoved(registry, id, placement, 'export');
        return;
      }
      const file = createWriteStream(out, { flags: 'wx', mode: 0o600 });
      await once(file, 'open');
      const manifest = await exportTenant(platform, id, streamWriter(file)).finally(() => file.end());
      await once(file, 'close');
      await requireUnmoved(registry, id, placement, 'export');
      const documents = manifest.reduce((sum, entry) => sum + entry.count, 0);
      io.stderr(`Exported ${documents} documents of tenant ${id} to ${out}.\n`);
    },
  },
  'tenant import': {
    usage: 'tenant import <file> --into <id>',
    summary:
      'Imports an export into an existing tenant (ids rebased so it can sit beside its source), then checks its counts and checksums against the manifest. A re-run skips what is already there.',
    options: { into: { type: 'string' } },
    positionals: ['file'],
    async run(context) {
      const { values, positionals, controlPlane, print } = context;
      const into = required(values, 'into');
      const registry = await controlPlane();
      await requireTenant(registry, into);
      const placement = await currentPlacement(registry, into);
      const input = createReadStream(positionals[0]!);
      const lines = createInterface({ input, crlfDelay: Infinity });
      const platform = placedPlatform(platformOf(context), placement);
      const report = await importTenant(platform, into, lines).finally(() => input.destroy());
      // A write to the old placement while a move copied would be lost with it: a re-run after the move puts it back.
      await requireUnmoved(registry, into, placement, 'import');
      print(report, () =>
        [
          `Imported ${report.inserted} documents of ${report.sourceTenant} into ${into} (${report.existing} already there).`,
          ...report.verification.map(
            (v) =>
              `  ${v.subgraph.padEnd(10)} ${v.collection.padEnd(12)} ${String(v.actual.count).padStart(9)}  ${v.actual.checksum === v.expected.checksum && v.actual.count === v.expected.count ? 'matches' : 'DIFFERS'}`,
          ),
          report.verified
            ? 'Counts and checksums match the manifest.'
            : 'Counts or checksums DIFFER from the manifest.',
        ].join('\n'),
      );
      return report.verified ? 0 : 1;
    },
  },
  'tenant sweep': {
    usage: 'tenant sweep [--tenant <id>]',
    options: { tenant: { type: 'string' } },
    summary:
      'Applies the retention policy (the JSON file RETENTION_FILE names) once: deletes, in bounded batches, the documents older than their rule, for one tenant or every tenant. Idempotent; run it from a scheduled job.',
    async run(context) {
      const { values, controlPlane, io, print } = context;
      const only = string(values, 'tenant');
      const file = io.env.RETENTION_FILE?.trim();
      if (!file) throw new Error('RETENTION_FILE must name the retention policy (a JSON file)');
      const policy = parseRetentionPolicy(await readFile(file, 'utf8'));
      const registry = await controlPlane();
      const tenants = only === undefined ? await registry.tenants.listTenants() : [];
      if (only !== undefined) {
        const tenant = await registry.tenants.getTenant(only);
        if (!tenant) throw new Error(`no tenant ${only}`);
        tenants.push(tenant);
      }
      const platform = platformOf(context);
      // One JSON line per tenant on stderr: what a scheduled job's log collector keeps.
      const logger = createLogger({ base: { job: 'retention-sweep' }, sink: (line) => io.stderr(`${line}\n`) });
      const sweeps: TenantSweep[] = [];
      for (const tenant of tenants) {
        if (tenant.move !== undefined && only === undefined) {
          // Its next run sweeps it (idempotent): said, never silently skipped. Named alone, it is refused below.
          logger.warn('retention sweep deferred: tenant being moved', { tenant: tenant.id, code: 'TENANT_MOVING' });
          continue;
        }
        const placed = placedPlatform(platform, placementOf(tenant));
        const sweep = await sweepTenant(placed, tenant.id, rulesFor(policy, tenant.id, tenant.plan.id));
        logger.info('retention sweep', { tenant: tenant.id, collections: sweep.collections });
        sweeps.push(sweep);
      }
      print(sweeps, () => formatSweep(sweeps));
    },
  },
};
