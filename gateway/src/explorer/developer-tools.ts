/**
 * The explorer's developer-only tools, beside /graphql and never through it:
 *
 * - `POST /explorer/estimate` prices a document for the caller's tenant with the gateway's cost estimator
 *   (cost/estimate.ts, the cost stage's own) and answers the requested cost, the plan's maximum and its budget —
 *   without executing it, reserving from the budget or charging anything;
 * - `POST /explorer/plan` answers the gateway's query plan for the document (query-plan.ts).
 *
 * Both take a GraphQL-over-HTTP JSON body (`query`, `operationName`, `variables`) under the same bounds as /graphql
 * (body size, JSON depth, the plan's body size, document nesting and tokens, then the plan's shape limits:
 * inspect.ts), and answer developers only — the token's own roles decide, whatever persona it previews; the
 * persona decides what the document may name. Refusals are the gateway's usual GraphQL errors and statuses.
 */
import express, { type RequestHandler, type Router } from 'express';
import { GraphQLError } from 'graphql';
import type { AuthorizationGate } from '../authz/gate';
import type { InputBounds } from '../config';
import type { CostEstimator } from '../cost/estimate';
import { ErrorCode, gatewayError } from '../errors';
import { boundedJsonBody } from '../http/body-bounds';
import {
  bodyWithinPlan,
  noStore,
  onlyJson,
  recordBodyBytes,
  refuse,
  refuseCredentialsInUrl,
  wellFormedGraphQLBody,
} from '../http/guards';
import { tokenCaller } from '../http/preview-roles';
import { estimateOrRefuse, MIN_OPERATION_COST } from '../pipeline/cost';
import { SLICING_BOUNDS, createLimitsStage } from '../pipeline/limits';
import { requestStateOf, tenantOf, type GatewayContext, type OperationRequest } from '../request';
import type { CostModel } from '../cost/model';
import { inspectOperation, type InspectBody } from './inspect';
import { createQueryPlanExplainer, type QueryPlanExplainer } from './query-plan';
import type { VisibleSchemas } from './visible-schema';

/** What the tools need of one supergraph version (supergraph/bundle.ts's SchemaBundle has it). */
export interface DeveloperToolsSchema {
  readonly sdl: string;
  readonly gate: AuthorizationGate;
  readonly visibleSchemas: VisibleSchemas;
  readonly estimator: CostEstimator;
  readonly costModel: CostModel;
}

export interface DeveloperToolsOptions {
  readonly authenticate: RequestHandler;
  /** The supergraph version served now; taken once per request, so a swap never mixes two versions in one answer. */
  readonly served: () => DeveloperToolsSchema;
  readonly maxBodyBytes: number;
  readonly inputBounds: InputBounds;
}

interface VersionTools {
  readonly schema: DeveloperToolsSchema;
  readonly limits: ReturnType<typeof createLimitsStage>;
  readonly explainer: QueryPlanExplainer;
}

/** What `POST /explorer/estimate` answers. */
export interface CostEstimateAnswer {
  readonly tenant: string;
  readonly plan: string;
  /** The estimate, with the charge's floor the cost stage applies (pipeline/cost.ts). */
  readonly requestedQueryCost: number;
  /** The plan's maximum cost of one operation. */
  readonly maximumCost: number;
  /** Whether /graphql would refuse it (`enforce`) or only note it (`measure`) for being over the maximum. */
  readonly overMaximum: boolean;
  readonly costMode: string;
  /** The plan's budget: what the bucket holds and regains per second (its current level is in a run's cost). */
  readonly budget: { readonly capacity: number; readonly restoreRate: number };
}

export function developerTools(options: DeveloperToolsOptions): Router {
  const router = express.Router();
  // Built once per supergraph version, on first use, and dropped with it (the planner is lazy: query-plan.ts).
  const byVersion = new WeakMap<DeveloperToolsSchema, VersionTools>();
  const toolsFor = (schema: DeveloperToolsSchema): VersionTools => {
    let tools = byVersion.get(schema);
    if (!tools) {
      tools = {
        schema,
        limits: createLimitsStage({ listBounds: { model: schema.costModel, ...SLICING_BOUNDS } }),
        explainer: createQueryPlanExplainer(schema.sdl),
      };
      byVersion.set(schema, tools);
    }
    return tools;
  };

  const developersOnly: RequestHandler = async (_req, res, next) => {
    const state = requestStateOf(res);
    if (!state?.caller) return next(new Error('developer tools run after authentication'));
    try {
      if (await options.served().gate.mayIntrospect(tokenCaller(state.caller))) return next();
    } catch (error) {
      return next(error);
    }
    state.log.reason = 'developer-tools-not-developer';
    refuse(
      res,
      gatewayError(
        ErrorCode.FORBIDDEN,
        'The explorer’s estimate and query plan are for the developer role: use a token with the developer role.',
      ),
    );
  };

  const inspected = async (
    res: express.Response,
    body: InspectBody,
    tools: VersionTools,
  ): Promise<OperationRequest> => {
    const context = requestStateOf(res) as GatewayContext;
    return inspectOperation(context, body, {
      schema: await tools.schema.visibleSchemas.forCaller(context.caller),
      limits: tools.limits,
      maxNesting: options.inputBounds.maxDocumentNesting,
    });
  };

  const tool =
    (answer: (request: OperationRequest, tools: VersionTools) => unknown): RequestHandler =>
    async (req, res, next) => {
      try {
        const tools = toolsFor(options.served());
        res.status(200).json(answer(await inspected(res, req.body as InspectBody, tools), tools));
      } catch (error) {
        if (error instanceof GraphQLError) return refuse(res, error);
        next(error);
      }
    };

  const guards = [
    noStore,
    refuseCredentialsInUrl,
    options.authenticate,
    developersOnly,
    onlyJson,
    express.json({ limit: options.maxBodyBytes, type: 'application/json', verify: recordBodyBytes }),
    bodyWithinPlan(),
    boundedJsonBody({ maxDepth: options.inputBounds.maxJsonDepth }),
    wellFormedGraphQLBody,
  ];

  router.post(
    '/explorer/estimate',
    ...guards,
    tool((request, tools): CostEstimateAnswer => {
      const tenant = tenantOf(request);
      const { limits: planLimits } = tenant.plan;
      const requestedQueryCost = Math.max(estimateOrRefuse(tools.schema.estimator, request).cost, MIN_OPERATION_COST);
      return {
        tenant: tenant.id,
        plan: tenant.plan.id,
        requestedQueryCost,
        maximumCost: planLimits.maxCost,
        overMaximum: requestedQueryCost > planLimits.maxCost,
        costMode: tenant.costMode,
        budget: { capacity: planLimits.budget.capacity, restoreRate: planLimits.budget.restoreRate },
      };
    }),
  );
  router.post(
    '/explorer/plan',
    ...guards,
    tool((request, tools) => ({ queryPlan: tools.explainer.explain(request) })),
  );
  return router;
}
