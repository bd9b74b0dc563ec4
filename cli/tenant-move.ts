/**
 * `tollgate tenant move <id> --tier silo|pooled`: moves a tenant's documents between the shared databases and its
 * own (subgraphs/kit/placement.ts) without losing or misplacing a write.
 *
 * The method: block writes, copy, verify, switch, unblock, remove the old copy.
 * 1. `beginMove` stores the move (phase `blocking`) and announces it: every gateway refuses the tenant's mutations
 *    with 503 SERVICE_UNAVAILABLE + Retry-After (pipeline/moving.ts); reads go on, from the old placement.
 * 2. Wait `settleMs`: by then every gateway replica has the move (announcement, or its tenant cache's lifetime at
 *    the latest) and every mutation admitted before it has ended (its signed context expires within the token's
 *    lifetime, and a subgraph refuses an expired one) — so nothing writes to the old placement any more.
 * 3. Copy in bounded batches, verify counts and checksums per collection; a mismatch stops here (writes stay
 *    blocked, the tenant is still served from the old placement; rerun the command).
 * 4. `switchPlacement`: the tier changes and the placement epoch is bumped, announced; subgraphs refuse requests at
 *    the older epoch once they have seen the newer one. Wait `settleMs` again, then `endMove` unblocks writes.
 * 5. Remove the old copy.
 * Every step is idempotent and the phase is in the control plane: an interrupted move resumes where it stopped
 * when the same command is run again; a move whose tenant is already on the tier only removes leftovers.
 */
import mongoose, { type Connection } from 'mongoose';
import { DEFAULT_TOKEN_TTL_MS } from '../common/internal-token';
import type { TenantRegistry } from '../gateway/src/tenants/registry';
import { DEFAULT_CONTROL_PLANE_TTL_MS } from '../gateway/src/tenants/refreshing-cache';
import { ISOLATION_TIERS, type IsolationTier } from '../gateway/src/tenants/tenant';
import { defaultDbName } from '../subgraphs/kit/database';
import type { SubgraphName } from '../subgraphs/catalog';
import { migrateSilo } from '../subgraphs/migrate';
import {
  copyTenant,
  removeTenantData,
  summarizeTenant,
  summaryDifferences,
  type CollectionSummary,
} from '../subgraphs/move';
import { duration, oneOf, positiveInteger, required, string, type Command } from './command';
import { databases } from './migrate';

/** Long enough for every gateway to hear of a change and for every mutation admitted before it to end. */
export const DEFAULT_MOVE_SETTLE_MS = DEFAULT_CONTROL_PLANE_TTL_MS + DEFAULT_TOKEN_TTL_MS;

export interface MoveTenantOptions {
  tenants: TenantRegistry;
  /** The migration's connection to the subgraphs' MongoDB. */
  connection: Connection;
  mongoUri: string;
  tenantId: string;
  to: IsolationTier;
  /** Each subgraph's shared database; `tollgate_<name>` by default. */
  dbNameFor?: (name: SubgraphName) => string;
  /** See step 2 above; DEFAULT_MOVE_SETTLE_MS by default. */
  settleMs?: number;
  batchSize?: number;
  /** Told of each step, for the CLI's output. */
  onStep?: (step: string) => void;
}

export interface MoveReport {
  tenant: string;
  from: IsolationTier;
  to: IsolationTier;
  /** Counts and checksums of the copy, per subgraph and collection (equal in both placements when switched). */
  verified: CollectionSummary[];
  copied: number;
  removed: number;
  placementEpoch: number;
}

export class MoveVerificationError extends Error {
  constructor(readonly differences: string[]) {
    super(`the copy does not match its source (${differences.join('; ')}); writes stay blocked: run the move again`);
    this.name = 'MoveVerificationError';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function moveTenant(options: MoveTenantOptions): Promise<MoveReport> {
  const { tenants, tenantId, to } = options;
  const settleMs = options.settleMs ?? DEFAULT_MOVE_SETTLE_MS;
  const step = options.onStep ?? (() => undefined);
  const data = {
    connection: options.connection,
    tenantId,
    ...(options.dbNameFor ? { dbNameFor: options.dbNameFor } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
  };
  const from: IsolationTier = to === 'silo' ? 'pooled' : 'silo';

  let tenant = await tenants.getTenant(tenantId);
  if (!tenant) throw new Error(`no tenant ${tenantId}`);
  if (tenant.isolation === to && !tenant.move) {
    // Done before, perhaps interrupted before its last step: only leftovers in the old placement remain to go.
    const removed = await removeTenantData(data, from);
    step(`tenant ${tenantId} is already ${to}; removed ${removed} leftover documents from ${from}`);
    return { tenant: tenantId, from, to, verified: [], copied: 0, removed, placementEpoch: tenant.placementEpoch };
  }

  tenant = await tenants.beginMove(tenantId, to);
  let verified: CollectionSummary[] = [];
  let copied = 0;
  if (tenant.move?.phase === 'blocking') {
    step(`writes of ${tenantId} blocked; waiting ${settleMs} ms for every gateway and in-flight write`);
    await sleep(settleMs);
    if (to === 'silo') {
      await migrateSilo({
        mongoUri: options.mongoUri,
        tenantId,
        ...(options.dbNameFor ? { dbNameFor: options.dbNameFor } : {}),
      });
    }
    copied = await copyTenant(data, from, to);
    step(`copied ${copied} documents from ${from} to ${to}`);
    const [source, target] = await Promise.all([summarizeTenant(data, from), summarizeTenant(data, to)]);
    const differences = summaryDifferences(source, target);
    if (differences.length > 0) throw new MoveVerificationError(differences);
    verified = target;
    step('verified counts and checksums of every collection');
    tenant = await tenants.switchPlacement(tenantId);
    step(`switched ${tenantId} to ${to} (placement epoch ${tenant.placementEpoch})`);
  }
  step(`waiting ${settleMs} ms for every gateway to serve the new placement`);
  await sleep(settleMs);
  tenant = await tenants.endMove(tenantId);
  step(`writes of ${tenantId} accepted again`);
  const removed = await removeTenantData(data, from);
  step(`removed ${removed} documents from ${from}`);
  return { tenant: tenantId, from, to, verified, copied, removed, placementEpoch: tenant.placementEpoch };
}

export const TENANT_MOVE_COMMANDS: Record<string, Command> = {
  'tenant move': {
    usage: `tenant move <id> --tier ${ISOLATION_TIERS.join('|')} [--db <subgraph>=<database>,…] [--settle <duration>] [--batch-size <n>]`,
    summary:
      "Moves a tenant's documents between the shared databases and its own: writes refused (503 + Retry-After) meanwhile, copy, verify counts and checksums, switch every gateway, remove the old copy. Run again to resume an interrupted move.",
    options: {
      tier: { type: 'string' },
      db: { type: 'string' },
      settle: { type: 'string' },
      'batch-size': { type: 'string' },
    },
    positionals: ['id'],
    async run({ values, positionals, config, controlPlane, print, io }) {
      const to = oneOf(required(values, 'tier'), ISOLATION_TIERS, '--tier');
      const dbs = databases(string(values, 'db'));
      const settle = string(values, 'settle');
      const batchSize = string(values, 'batch-size');
      const { mongoUri } = config().controlPlane;
      const registry = await controlPlane();
      const connection = await mongoose.createConnection(mongoUri).asPromise();
      try {
        const report = await moveTenant({
          tenants: registry.tenants,
          connection,
          mongoUri,
          tenantId: positionals[0]!,
          to,
          dbNameFor: (name) => dbs[name] ?? defaultDbName(name),
          ...(settle === undefined ? {} : { settleMs: duration(settle, '--settle') }),
          ...(batchSize === undefined ? {} : { batchSize: positiveInteger(batchSize, '--batch-size') }),
          onStep: (message) => io.stderr(`${message}\n`),
        });
        print(report, () =>
          [
            `Moved tenant ${report.tenant} to ${report.to} (placement epoch ${report.placementEpoch}).`,
            ...report.verified.map(
              (s) => `  ${s.subgraph}.${s.collection}: ${s.count} documents, sha256 ${s.checksum}`,
            ),
          ].join('\n'),
        );
      } finally {
        await connection.close();
      }
    },
  },
};
