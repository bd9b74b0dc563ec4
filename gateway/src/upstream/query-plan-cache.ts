/**
 * The gateway's query-plan cache, bounded in estimated heap bytes. @apollo/gateway's default is an LRU of 30 MiB
 * measured as the plan's JSON length, which leaves out object headers and pointers: a plan's heap is about
 * PLAN_HEAP_PER_JSON_BYTE times its JSON. Plans are only made for operations the pipeline admitted, so this cache
 * is not filled by refused requests; the bound keeps one caller's stream of distinct admitted operations in it.
 */
import type { GatewayConfig as ApolloGatewayConfig } from '@apollo/gateway';
import { createByteBoundedCache, type CacheStats } from '../cache';

type QueryPlanStore = NonNullable<NonNullable<ApolloGatewayConfig['queryPlannerConfig']>['cache']>;
type QueryPlan = Parameters<QueryPlanStore['set']>[1];

/** Heap bytes per byte of a plan's JSON: small objects of a few fields and short strings (measured, rounded up). */
const PLAN_HEAP_PER_JSON_BYTE = 3;

export interface QueryPlanCache {
  /** For `queryPlannerConfig.cache`. */
  readonly store: QueryPlanStore;
  stats(): CacheStats;
}

export function createQueryPlanCache(options: { readonly maxBytes: number }): QueryPlanCache {
  const cache = createByteBoundedCache<QueryPlan>({
    name: 'query-plans',
    maxBytes: options.maxBytes,
    sizeOf: (plan) => JSON.stringify(plan).length * PLAN_HEAP_PER_JSON_BYTE,
  });
  return {
    store: {
      get: (key) => Promise.resolve(cache.get(key)),
      set(key, plan) {
        cache.set(key, plan);
        return Promise.resolve();
      },
      delete(key) {
        cache.delete(key);
        return Promise.resolve();
      },
      // The gateway clears its plans when the supergraph changes.
      clear: () => cache.clear(),
    },
    stats: () => cache.stats(),
  };
}
