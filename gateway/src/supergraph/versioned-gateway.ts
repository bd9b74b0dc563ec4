/**
 * @apollo/gateway with hot-swappable supergraphs, where every request runs on the version it started with.
 *
 * The front gateway takes its supergraph through the `supergraphSdl` function form: `push` hands it a validated
 * version through the `update` callback, and it tells Apollo Server (`onSchemaLoadOrUpdate`), which validates
 * every request from then on against the new API schema. Its own executor is not used: @apollo/gateway plans with
 * whatever schema it holds when a request reaches execution, so a request validated against version N just before
 * a swap would be planned against N+1. Each version instead gets a static gateway of its own (`loadExecutor`), and
 * the executor Apollo Server calls picks the one of the schema the request was validated against
 * (`requestContext.schema`, the object `onSchemaLoadOrUpdate` handed out), through the same map that gives the
 * pipeline its bundle (`bundleOf`).
 */
import {
  ApolloGateway,
  type GatewayConfig as ApolloGatewayConfig,
  type ServiceEndpointDefinition,
} from '@apollo/gateway';
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import { ErrorCode, gatewayError } from '../errors';
import type { QueryPlanCache } from '../upstream/query-plan-cache';
import type { GatewayExecutor, SchemaBundle } from './bundle';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

/** What every gateway of the deployment is built with, front and per version. */
export interface GatewayBase {
  readonly buildService: (
    definition: ServiceEndpointDefinition,
  ) => NonNullable<ReturnType<NonNullable<ApolloGatewayConfig['buildService']>>>;
  readonly logger: NonNullable<ApolloGatewayConfig['logger']>;
}

export interface VersionedGateway {
  /** For Apollo Server's `gateway` option. */
  readonly gateway: GatewayInterface;
  /** The front gateway: the subgraph health checks go through it. */
  readonly front: ApolloGateway;
  /** Switches to a validated version; new requests use it, requests under way keep theirs. */
  push(bundle: SchemaBundle): void;
  /** The bundle of the API schema Apollo Server validated a request against. */
  bundleOf(schema: GraphQLSchema): SchemaBundle | undefined;
  current(): SchemaBundle;
  /** Whether Apollo Server has a schema (readiness). */
  loaded(): boolean;
}

/** A static gateway over one supergraph version, loaded: its executor. */
export async function loadExecutor(
  base: GatewayBase,
  sdl: string,
  queryPlans: QueryPlanCache,
): Promise<GatewayExecutor> {
  const gateway = new ApolloGateway({
    supergraphSdl: sdl,
    buildService: base.buildService,
    logger: base.logger,
    __exposeQueryPlanExperimental: false,
    queryPlannerConfig: { cache: queryPlans.store },
  });
  const { executor } = await gateway.load();
  return executor;
}

export function createVersionedGateway(base: GatewayBase, initial: SchemaBundle): VersionedGateway {
  let current = initial;
  // The bundle being handed to the front gateway: its `update` notifies the listener below synchronously.
  let pushing: SchemaBundle = initial;
  let update: ((sdl: string) => void) | undefined;
  let loaded = false;
  const bundles = new WeakMap<GraphQLSchema, SchemaBundle>();
  const front = new ApolloGateway({
    supergraphSdl: async ({ update: push }) => {
      update = push;
      return { supergraphSdl: initial.sdl };
    },
    buildService: base.buildService,
    logger: base.logger,
    __exposeQueryPlanExperimental: false,
  });
  // Registered before Apollo Server registers its own, so the map knows a schema before any request can carry it.
  front.onSchemaLoadOrUpdate(({ apiSchema }) => {
    bundles.set(apiSchema, pushing);
    current = pushing;
    loaded = true;
  });
  const executor: GatewayExecutor = (requestContext) => {
    const bundle = bundles.get(requestContext.schema);
    if (!bundle) throw gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.');
    return bundle.executor(requestContext);
  };
  return {
    front,
    gateway: {
      onSchemaLoadOrUpdate: (callback) => front.onSchemaLoadOrUpdate(callback),
      stop: () => front.stop(),
      async load(options) {
        const result = await front.load(options);
        return { ...result, executor };
      },
    },
    push(bundle) {
      if (!update) throw new Error('the gateway has not loaded its first supergraph yet');
      pushing = bundle;
      try {
        update(bundle.sdl);
      } finally {
        pushing = current;
      }
    },
    bundleOf: (schema) => bundles.get(schema),
    current: () => current,
    loaded: () => loaded,
  };
}
