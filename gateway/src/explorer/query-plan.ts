/**
 * The gateway's query plan for a document, for the explorer's developers only (developer-tools.ts). The gateway's
 * own switch for this, `__exposeQueryPlanExperimental`, would hand the plan to ANY client sending a header; it stays
 * off (server.ts) and this module plans with a planner of its own: the same @apollo/query-planner version, the same
 * supergraph and the default planner configuration the gateway uses, so the plan is the one the gateway executes
 * for that document. Built on first use (a second copy of the supergraph's query graph costs memory only where the
 * explorer is used); formatted plans are kept per document, a bounded number of them.
 */
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import type { DocumentNode } from 'graphql';
import { createCountBoundedCache } from '../cache';
import { documentKey } from '../document/key';
import { clientErrorForPlannerLimit } from '../upstream/planner-errors';

const PLANS_KEPT = 200;

export interface QueryPlanExplainer {
  /** The plan as @apollo/gateway prints it (`prettyFormatQueryPlan`); throws a client `GraphQLError` at a limit. */
  explain(request: { document: DocumentNode; operationName: string | null; queryHash: string }): string;
}

export function createQueryPlanExplainer(supergraphSdl: string): QueryPlanExplainer {
  let planner: { supergraph: Supergraph; planner: QueryPlanner } | undefined;
  const plans = createCountBoundedCache<string>({ name: 'explorer-query-plans', maxEntries: PLANS_KEPT });
  return {
    explain({ document, operationName, queryHash }) {
      const key = documentKey(queryHash, operationName);
      const known = plans.get(key);
      if (known !== undefined) return known;
      if (!planner) {
        const supergraph = Supergraph.build(supergraphSdl);
        planner = { supergraph, planner: new QueryPlanner(supergraph) };
      }
      let formatted: string;
      try {
        const operation = operationFromDocument(planner.supergraph.apiSchema(), document, {
          ...(operationName ? { operationName } : {}),
        });
        formatted = prettyFormatQueryPlan(planner.planner.buildQueryPlan(operation));
      } catch (error) {
        throw clientErrorForPlannerLimit(error) ?? error;
      }
      plans.set(key, formatted);
      return formatted;
    },
  };
}
