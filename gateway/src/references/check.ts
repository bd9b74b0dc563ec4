/**
 * Asks the owning subgraph whether referenced entities exist in the caller's tenant: one `_entities` fetch per
 * entity type however many ids an operation names, sent through the gateway's own signed data source with the
 * caller's tenant in the internal token. The owner's tenant-scoped data layer answers null for a missing id and for
 * another tenant's alike, so neither is distinguishable from the other here either. No subgraph reads another's
 * database and no subgraph mints a token: the gateway asks, as it does for any entity fetch of a query plan.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import type { Caller, GatewayContext } from '../request';
import type { TenantRecord } from '../tenants/tenant';
import type { ReferencePlan, ReferenceUse } from './plan';

/** What a subgraph answered, as far as the check reads it. */
export interface EntitiesAnswer {
  data?: { _entities?: unknown } | null;
  errors?: readonly unknown[];
}

export interface EntitiesRequest {
  query: string;
  variables: { representations: { __typename: string; id: string }[] };
}

/** Sends one `_entities` request to `subgraph` on behalf of `caller`. */
export type EntitiesFetch = (
  subgraph: string,
  request: EntitiesRequest,
  caller: Caller,
  requestId: string,
  /** The caller's tenant snapshot: the data source places the fetch by it (pooled or silo). */
  tenant?: TenantRecord,
) => Promise<EntitiesAnswer>;

export interface ReferenceCheckerOptions {
  readonly plan: ReferencePlan;
  readonly fetchEntities: EntitiesFetch;
}

/** The owner answered something other than one entity or null per representation, or errors: nothing is known. */
export class ReferenceCheckFailed extends Error {
  constructor(
    readonly subgraph: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`reference check against ${subgraph} failed: ${detail}`, options);
    this.name = 'ReferenceCheckFailed';
  }
}

/**
 * Longer than any id this platform issues: refused as missing without asking anyone, so a client cannot make the
 * gateway forward megabytes in a representation.
 */
export const MAX_REFERENCE_ID_LENGTH = 128;

export interface ReferenceChecker {
  /** The uses whose id is not an existing entity of the caller's tenant, in the order given. */
  missing(
    uses: readonly ReferenceUse[],
    caller: Caller,
    requestId: string,
    tenant?: TenantRecord,
  ): Promise<ReferenceUse[]>;
}

export function createReferenceChecker(options: ReferenceCheckerOptions): ReferenceChecker {
  const { plan, fetchEntities } = options;
  const queries = new Map<string, string>();
  const queryFor = (entity: string) => {
    let query = queries.get(entity);
    if (query === undefined) {
      // The entity name comes from the startup-checked policy, never from a request.
      query = `query TollgateReferenceCheck($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${entity} { id } } }`;
      queries.set(entity, query);
    }
    return query;
  };

  const existing = async (
    entity: string,
    ids: readonly string[],
    caller: Caller,
    requestId: string,
    tenant: TenantRecord | undefined,
  ): Promise<Set<string>> => {
    const owner = plan.owners.get(entity);
    if (owner === undefined) throw new Error(`no owner for ${entity}`);
    const representations = ids.map((id) => ({ __typename: entity, id }));
    let answer: EntitiesAnswer;
    try {
      answer = await fetchEntities(
        owner,
        { query: queryFor(entity), variables: { representations } },
        caller,
        requestId,
        tenant,
      );
    } catch (error) {
      throw new ReferenceCheckFailed(owner, 'fetch failed', { cause: error });
    }
    const entities = answer.data?._entities;
    // A failed fetch is answered, not thrown (upstream/fetch-failure.ts): its marked error says whether it timed out.
    if (answer.errors?.length)
      throw new ReferenceCheckFailed(owner, 'answered with errors', { cause: answer.errors[0] });
    if (!Array.isArray(entities) || entities.length !== ids.length)
      throw new ReferenceCheckFailed(owner, 'answered no entity list of the right length');
    const found = new Set<string>();
    entities.forEach((entity: unknown, i) => {
      const id = ids[i]!;
      if (entity !== null && typeof entity === 'object' && (entity as { id?: unknown }).id === id) found.add(id);
    });
    return found;
  };

  return {
    async missing(uses, caller, requestId, tenant) {
      const idsByEntity = new Map<string, Set<string>>();
      for (const { entity, id } of uses) {
        if (id.length === 0 || id.length > MAX_REFERENCE_ID_LENGTH) continue;
        idsByEntity.set(entity, (idsByEntity.get(entity) ?? new Set()).add(id));
      }
      const found = new Map(
        await Promise.all(
          [...idsByEntity].map(
            async ([entity, ids]) => [entity, await existing(entity, [...ids], caller, requestId, tenant)] as const,
          ),
        ),
      );
      return uses.filter(({ entity, id }) => !found.get(entity)?.has(id));
    },
  };
}

/**
 * An `EntitiesFetch` over the gateway's operation data sources (upstream/data-source.ts): the same signing, timeout,
 * masking and logging as every fetch of a query plan.
 */
export function entitiesFetchThrough(
  sourceFor: (subgraph: string) => GraphQLDataSource<GatewayContext> | undefined,
): EntitiesFetch {
  return async (subgraph, request, caller, requestId, tenant) => {
    const source = sourceFor(subgraph);
    if (!source) throw new Error(`no data source for subgraph ${subgraph}`);
    // The check runs before execution, outside any request log of the data source's concern: only `caller` and
    // `requestId` are read by it (the token's tenant, principal, roles and request id).
    const context: GatewayContext = { requestId, caller, log: { errorCodes: [] }, ...(tenant ? { tenant } : {}) };
    type OperationOptions = Extract<
      GraphQLDataSourceProcessOptions<GatewayContext>,
      { kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION }
    >;
    const options: OperationOptions = {
      kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
      request,
      context,
      // The data source tells operations from health checks by this key; it reads nothing else of it.
      incomingRequestContext: { request, context } as unknown as OperationOptions['incomingRequestContext'],
    };
    return (await source.process(options)) as EntitiesAnswer;
  };
}
