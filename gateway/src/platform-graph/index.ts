/**
 * The platform graph: fields the gateway answers itself (usage; the audit trail adds its own), composed into the
 * supergraph as the subgraph `platform` and served in-process through @apollo/gateway's `LocalGraphQLDataSource`,
 * so no HTTP process, port, URL or internal token exists for it.
 *
 * Its fields go through every stage any other field does — limits, authorization (authz/rules.ts), cost (the
 * `@cost`/`@listSize` in schema.graphql), budget, quota — because those decide on the operation before the gateway
 * plans it; the resolvers only ever see an authenticated caller and scope everything to `caller.tenantId`.
 *
 * Adding a field: declare it in schema.graphql (with `@cost`/`@listSize`, and any list bounded by an argument the
 * limits stage checks), add its resolver to `resolvers` below through an options entry, give it a rule in
 * authz/rules.ts (rules.test.ts fails otherwise), and run `npm run compose` (schema/supergraph.graphql and the Helm
 * copy).
 */
import { LocalGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { parse } from 'graphql';
import type { GatewayContext } from '../request';
import { notAdmitted, pendingAdmissionOf } from '../upstream/admission';
import { readPlatformSdl } from './sdl';
import { credentialsResolver, usageResolver, type UsageReader } from './usage';

export { PLATFORM_SUBGRAPH } from './sdl';
export type { UsageReader } from './usage';

export interface PlatformGraphOptions {
  /** Reads a tenant's metered usage (metering/reader.ts). */
  readonly usage: UsageReader;
  /**
   * Root fields other modules contribute (the audit trail's `auditEvents`), by type name then field name. Each
   * must be declared in schema.graphql and covered by authz/rules.ts.
   */
  readonly extraResolvers?: GraphQLResolverMap<unknown>;
}

/** Builds the platform graph's executable schema and the data source `buildService` returns for it. */
export function createPlatformGraph(options: PlatformGraphOptions): LocalGraphQLDataSource<GatewayContext> {
  const extra = options.extraResolvers ?? {};
  const resolvers: GraphQLResolverMap<unknown> = {
    ...extra,
    // The gateway hands every data source the request's context: a `GatewayContext` (usage.ts reads it defensively).
    Query: { ...(extra.Query as object | undefined), usage: usageResolver(options.usage) as never },
    Usage: { credentials: credentialsResolver as never },
  };
  const schema = buildSubgraphSchema({ typeDefs: parse(readPlatformSdl()), resolvers });
  return new PlatformGraphSource(schema);
}

/** In-process, but a subgraph all the same: its fetches wait for the operation's admission (upstream/admission.ts). */
class PlatformGraphSource extends LocalGraphQLDataSource<GatewayContext> {
  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const admission = pendingAdmissionOf(options);
    if (admission) {
      const refusal = await admission.decision;
      if (refusal) return notAdmitted(refusal);
    }
    return super.process(options);
  }
}
