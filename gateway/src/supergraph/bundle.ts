/**
 * Everything a gateway derives from one supergraph version, built together and swapped together: the API schema
 * and authorization gate (with its analysis cache), the cost model and estimator (with its cache), the reference
 * plan, the explorer's visible schemas, the operation stages that read them, the query-plan cache and the executor
 * (a static @apollo/gateway of the version's own, supergraph/versioned-gateway.ts).
 *
 * Nothing here is shared between versions, so every per-document cache is keyed by the version by construction: a
 * document analysed, priced or planned against one supergraph is never reused against another. Apollo Server's
 * document store is the one cache outside the bundle; it prefixes its keys with the schema's hash. A request takes
 * the bundle of the schema Apollo Server validated it against (pipeline/index.ts) and keeps it to the end; an old
 * bundle lives as long as a request still holds it.
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import type { Logger } from '../../../common/logger';
import type { AuthorizationGate } from '../authz/gate';
import type { Budget } from '../budget/budget';
import type { CacheStats } from '../cache';
import type { CacheBytes } from '../config';
import { createCostEstimator, type CostEstimator, type CostModel } from '../cost/estimate';
import { createIntrospectionStage, exceptIntrospection } from '../explorer/introspection';
import { createVisibleSchemas, type VisibleSchemas } from '../explorer/visible-schema';
import type { Stage } from '../pipeline';
import { createAccountStage } from '../pipeline/account';
import { createAuthorizeStage } from '../pipeline/authorize';
import { createCostStage } from '../pipeline/cost';
import { SLICING_BOUNDS, createLimitsStage } from '../pipeline/limits';
import { tenantMoving } from '../pipeline/moving';
import { operationKind } from '../pipeline/operation-kind';
import { createReferenceStage } from '../pipeline/references';
import { createReferenceChecker, type EntitiesFetch } from '../references/check';
import { createQueryPlanCache, type QueryPlanCache } from '../upstream/query-plan-cache';
import type { CheckedSupergraph } from './validate';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
export type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

export interface SchemaBundle {
  /** SHA-256 (hex) of the SDL. */
  readonly id: string;
  readonly sdl: string;
  readonly gate: AuthorizationGate;
  readonly costModel: CostModel;
  readonly estimator: CostEstimator;
  readonly visibleSchemas: VisibleSchemas;
  /** The operation stages over this version, in the order the runner awaits them. */
  readonly stages: readonly Stage[];
  readonly queryPlans: QueryPlanCache;
  readonly executor: GatewayExecutor;
  /** The bundle's per-document caches (the gate's, the estimator's, the query plans). */
  caches(): CacheStats[];
}

export interface SchemaBundleOptions {
  readonly budget: Budget;
  readonly logger: Logger;
  readonly cacheBytes: CacheBytes;
  /** How the reference check asks an owner subgraph (the operation data sources). */
  readonly fetchEntities: EntitiesFetch;
  /** The monthly quota's stage (metering/), when metering has one: it runs between `account` and `cost`. */
  readonly quotaStage?: Stage;
  /** The audit trail's stage (audit/stage.ts), when the audit is on: it runs for every operation, introspection too. */
  readonly auditStage?: Stage;
  /** Loads an executor for this supergraph, planning into `queryPlans`. */
  executorFor(sdl: string, queryPlans: QueryPlanCache): Promise<GatewayExecutor>;
}

export async function buildSchemaBundle(
  checked: CheckedSupergraph,
  options: SchemaBundleOptions,
): Promise<SchemaBundle> {
  const { gate, costModel, referencePlan } = checked;
  const { budget, logger, cacheBytes } = options;
  const estimator = createCostEstimator({ model: costModel, cacheBytes: cacheBytes.cost });
  // The operation stages, in the order the runner (pipeline/index.ts) awaits them; every one reads the tenant
  // snapshot authentication took (request.ts). Order matters: cheap shape limits first, then authorization (which
  // in filter mode replaces the document), and only then a reservation from the budget, priced on the document
  // that will run — so an operation refused for its shape or its rights never costs the tenant anything. `account`
  // registers the settlement just before `cost` reserves. Introspection is answered by the gateway under its own
  // bounds (explorer/introspection.ts), so the later stages skip it.
  const stages = [
    operationKind,
    // Before anything is charged: a write refused while its tenant moves costs nothing and changes nothing.
    tenantMoving,
    createIntrospectionStage({ gate }),
    ...(options.auditStage ? [options.auditStage] : []),
    ...[
      createLimitsStage({ listBounds: { model: costModel, ...SLICING_BOUNDS } }),
      createAuthorizeStage({ gate, logger }),
      createAccountStage({ budget }),
      // The monthly quota (metering/): after the settlement is registered, before the budget reserves.
      ...(options.quotaStage ? [options.quotaStage] : []),
      createCostStage({ estimator, budget }),
      createReferenceStage({
        plan: referencePlan,
        checker: createReferenceChecker({ plan: referencePlan, fetchEntities: options.fetchEntities }),
        logger: logger.child({ component: 'references' }),
      }),
    ].map(exceptIntrospection),
  ];
  const queryPlans = createQueryPlanCache({ maxBytes: cacheBytes.queryPlans });
  const executor = await options.executorFor(checked.sdl, queryPlans);
  return {
    id: checked.id,
    sdl: checked.sdl,
    gate,
    costModel,
    estimator,
    visibleSchemas: createVisibleSchemas(gate),
    stages,
    queryPlans,
    executor,
    caches: () => [queryPlans.stats(), gate.cacheMemory(), estimator.cacheMemory()],
  };
}
