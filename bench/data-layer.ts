/**
 * The data layer part of the overhead benchmark (bench/run.ts): `_entities` with 1, 10, 100 Product representations
 * against an in-process inventory subgraph, Mongo commands per fetch counted with the driver's command monitoring.
 * Its 100 stock rows live in a database of their own (ENTITIES_DB): in the load runs' inventory database they made
 * every later run's stock lookups read five times the rows (FerretDB scans whole collections).
 */
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { createLogger } from '../common/logger';
import { deriveSubgraphKey } from '../common/internal-token';
import { inventory } from '../subgraphs/definitions';
import { runInScope } from '../subgraphs/kit/scope';
import { startSubgraph } from '../subgraphs/kit/server';
import { countCommands, entitiesQuery, mintTestToken, userCaller } from '../subgraphs/kit/testing';
import { DEMO_USERS } from '../demo/subgraph-data';
import { ENTITIES_DB } from './settings';

export interface EntityResult {
  references: number;
  fetches: number;
  commandsPerFetch: number;
  commands: string[];
  medianMs: number;
  p99Ms: number;
}

export async function dataLayer(mongoUri: string): Promise<EntityResult[]> {
  const secret = randomBytes(32);
  const key = deriveSubgraphKey(secret, 'inventory');
  const running = await startSubgraph(inventory, {
    port: 0,
    mongoUri,
    dbName: ENTITIES_DB,
    internalKey: key,
    logger: createLogger({ level: 'warn', sink: () => {} }),
    monitorCommands: true,
  });
  try {
    // 100 stocked products of acme, deterministic ids so reruns reuse them.
    const ids = Array.from({ length: 100 }, (_, i) => `be0c${i.toString(16).padStart(20, '0')}`);
    const Stock = running.connection.model('Stock');
    await runInScope({ tenantId: 'acme', principal: 'bench', roles: ['admin'], requestId: 'bench-seed' }, () =>
      Stock.bulkWrite(
        ids.map((id, i) => ({
          updateOne: {
            filter: { productId: new Types.ObjectId(id) },
            update: { $setOnInsert: { quantity: i } },
            upsert: true,
          },
        })),
      ),
    );
    const query = entitiesQuery('... on Product { inStock quantity }');
    const caller = userCaller('acme', DEMO_USERS.acme.staff, ['staff']);
    const results: EntityResult[] = [];
    for (const n of [1, 10, 100]) {
      const body = JSON.stringify({
        query,
        variables: { representations: ids.slice(0, n).map((id) => ({ __typename: 'Product', id })) },
      });
      const once = async () => {
        const res = await fetch(running.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'tollgate-context': mintTestToken(key, 'inventory', query, caller),
          },
          body,
        });
        const json = (await res.json()) as { data?: { _entities: unknown[] }; errors?: unknown[] };
        if (res.status !== 200 || json.errors || json.data?._entities.length !== n)
          throw new Error(`_entities(${n}) failed: ${JSON.stringify(json).slice(0, 300)}`);
      };
      for (let i = 0; i < 30; i += 1) await once();
      const samples: number[] = [];
      const fetches = 300;
      const { commands } = await countCommands(running, async () => {
        for (let i = 0; i < fetches; i += 1) {
          const started = process.hrtime.bigint();
          await once();
          samples.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      });
      samples.sort((a, b) => a - b);
      results.push({
        references: n,
        fetches,
        commandsPerFetch: commands.length / fetches,
        commands: [...new Set(commands)],
        medianMs: samples[Math.floor(samples.length / 2)]!,
        p99Ms: samples[Math.floor(samples.length * 0.99)]!,
      });
    }
    return results;
  } finally {
    await running.stop();
  }
}
