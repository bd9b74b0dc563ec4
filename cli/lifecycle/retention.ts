/**
 * `tollgate tenant sweep`: applies the retention policy (retention-policy.ts) once, to one tenant or to every
 * tenant, through the subgraphs' platform API. Each call deletes at most a bounded number of batches; the sweep
 * repeats a call until the subgraph reports the collection complete, so a large backlog costs several calls, never
 * one unbounded one. Idempotent: a second run finds nothing older than the rule.
 */
import { SUBGRAPH_COLLECTIONS, SUBGRAPH_NAMES, type SubgraphName } from '../../subgraphs/catalog';
import type { SweepResult } from '../../subgraphs/kit/platform/operations';
import type { PlatformClient } from './platform-client';
import type { RetentionRule } from './retention-policy';

export interface TenantSweep {
  tenant: string;
  collections: { subgraph: SubgraphName; collection: string; maxAgeMs: number; deleted: number }[];
}

/** Calls per collection before the sweep gives up for this run (each deletes at most 100 batches of 1,000). */
const MAX_CALLS = 100;

export function subgraphOf(collection: string): SubgraphName | undefined {
  return SUBGRAPH_NAMES.find((name) => SUBGRAPH_COLLECTIONS[name].includes(collection));
}

export async function sweepTenant(
  platform: PlatformClient,
  tenantId: string,
  rules: readonly RetentionRule[],
  now: number = Date.now(),
): Promise<TenantSweep> {
  const sweep: TenantSweep = { tenant: tenantId, collections: [] };
  for (const rule of rules) {
    const subgraph = subgraphOf(rule.collection);
    if (!subgraph) throw new Error(`no subgraph owns a collection ${rule.collection}`);
    // One cutoff for the whole run: what a later call sees as old was old when the run began.
    const before = new Date(now - rule.maxAgeMs).toISOString();
    let deleted = 0;
    for (let call = 0; ; call++) {
      const answer = await platform.call<{ collections: SweepResult[] }>(subgraph, 'sweep', tenantId, {
        rules: [{ collection: rule.collection, before }],
      });
      const result = answer.collections[0]!;
      deleted += result.deleted;
      if (result.complete) break;
      if (call + 1 >= MAX_CALLS)
        throw new Error(`${rule.collection} of ${tenantId}: not finished, run the sweep again`);
    }
    sweep.collections.push({ subgraph, collection: rule.collection, maxAgeMs: rule.maxAgeMs, deleted });
  }
  return sweep;
}

export function formatSweep(sweeps: readonly TenantSweep[]): string {
  const lines = sweeps.flatMap((s) =>
    s.collections.length === 0
      ? [`${s.tenant}: no retention rule`]
      : s.collections.map(
          (c) =>
            `${s.tenant}: ${c.collection} older than ${Math.round(c.maxAgeMs / 3_600_000)}h — ${c.deleted} deleted`,
        ),
  );
  return lines.join('\n') || 'No tenant.';
}
