import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createLogger } from '../../../common/logger';
import { buildApiSchema } from '../schema/api-schema';
import { DEFAULT_SUPERGRAPH_PATH } from '../config';
import { gatewayError } from '../errors';
import type { Caller } from '../request';
import { createReferenceStage } from '../pipeline/references';
import { resolvedOperation } from '../testing/operation';
import {
  MAX_REFERENCE_ID_LENGTH,
  createReferenceChecker,
  type EntitiesAnswer,
  type EntitiesFetch,
  type EntitiesRequest,
} from './check';
import { TOLLGATE_REFERENCES } from './declarations';
import { planReferences } from './plan';

const supergraph = readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8');
const plan = planReferences(TOLLGATE_REFERENCES, buildApiSchema(supergraph), supergraph);
const caller: Caller = {
  tenantId: 'acme',
  principal: 'u1',
  roles: ['staff'],
  credential: 'jwt',
  tokenExpiresAt: Date.now() + 60_000,
};
const quiet = createLogger({ sink: () => undefined });

const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const GONE = 'ffffffffffffffffffffffff';

interface Sent {
  subgraph: string;
  request: EntitiesRequest;
  tenant: string;
}

/** An owner that knows `known` ids, and records what it was asked. */
function owner(
  known: readonly string[],
  answer?: (request: EntitiesRequest) => EntitiesAnswer,
): { fetch: EntitiesFetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: EntitiesFetch = async (subgraph, request, who) => {
    sent.push({ subgraph, request, tenant: who.tenantId });
    if (answer) return answer(request);
    return {
      data: { _entities: request.variables.representations.map(({ id }) => (known.includes(id) ? { id } : null)) },
    };
  };
  return { fetch, sent };
}

function stageWith(fetch: EntitiesFetch) {
  return createReferenceStage({ plan, checker: createReferenceChecker({ plan, fetchEntities: fetch }), logger: quiet });
}

const TWO_ADJUSTS =
  'mutation($a: ID!, $b: ID!) { a: adjustStock(productId: $a, delta: 1) { id } b: adjustStock(productId: $b, delta: 1) { id } addReview(input: { productId: $a, rating: 5, body: "x" }) { id } }';

describe('the reference check', () => {
  it('asks the owner once per entity type, for each distinct id once, with the caller’s tenant', async () => {
    const { fetch, sent } = owner([A, B]);
    await stageWith(fetch).run(resolvedOperation(TWO_ADJUSTS, caller, { a: A, b: B }));
    expect(sent).toEqual([
      {
        subgraph: 'products',
        tenant: 'acme',
        request: {
          query:
            'query TollgateReferenceCheck($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { id } } }',
          variables: {
            representations: [
              { __typename: 'Product', id: A },
              { __typename: 'Product', id: B },
            ],
          },
        },
      },
    ]);
  });

  it('refuses with 404 NOT_FOUND at the first missing field’s path', async () => {
    const { fetch } = owner([A]);
    const refusal = await Promise.resolve(
      stageWith(fetch).run(resolvedOperation(TWO_ADJUSTS, caller, { a: A, b: GONE })),
    ).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(GraphQLError);
    expect(refusal).toMatchObject({
      message: 'Product not found',
      path: ['b'],
      extensions: { code: 'NOT_FOUND', http: { status: 404 } },
    });
  });

  it('takes an entity only when the owner returns it under the id asked for', async () => {
    const { fetch } = owner([], (request) => ({
      data: { _entities: request.variables.representations.map(() => ({ id: A })) },
    }));
    await expect(stageWith(fetch).run(resolvedOperation(TWO_ADJUSTS, caller, { a: A, b: B }))).rejects.toMatchObject({
      path: ['b'],
    });
  });

  it('refuses an overlong id without asking anyone', async () => {
    const { fetch, sent } = owner([]);
    const long = 'a'.repeat(MAX_REFERENCE_ID_LENGTH + 1);
    await expect(
      stageWith(fetch).run(
        resolvedOperation('mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id } }', caller, { id: long }),
      ),
    ).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    expect(sent).toEqual([]);
  });

  it('sends nothing for an operation without references', async () => {
    const { fetch, sent } = owner([]);
    await stageWith(fetch).run(resolvedOperation(`{ product(id: "${A}") { id } }`, caller));
    await stageWith(fetch).run(resolvedOperation('mutation { deleteReview(id: "x") }', caller));
    expect(sent).toEqual([]);
  });

  it.each<[string, EntitiesFetch, string, number]>([
    [
      'errors',
      async () => ({ data: { _entities: [{ id: A }] }, errors: [{ message: 'boom' }] }),
      'DOWNSTREAM_SERVICE_ERROR',
      502,
    ],
    ['a list of the wrong length', async () => ({ data: { _entities: [] } }), 'DOWNSTREAM_SERVICE_ERROR', 502],
    ['no data', async () => ({ data: null }), 'DOWNSTREAM_SERVICE_ERROR', 502],
    [
      'a failed fetch',
      async () => Promise.reject(gatewayError('DOWNSTREAM_SERVICE_ERROR', 'A downstream service failed')),
      'DOWNSTREAM_SERVICE_ERROR',
      502,
    ],
    [
      'a timeout',
      async () => Promise.reject(gatewayError('SUBGRAPH_TIMEOUT', 'A downstream service timed out')),
      'SUBGRAPH_TIMEOUT',
      504,
    ],
    [
      'a thrown plain error',
      async () => Promise.reject(new Error('ECONNREFUSED 10.0.0.3:4002')),
      'DOWNSTREAM_SERVICE_ERROR',
      502,
    ],
  ])('fails closed when the owner answers %s', async (_label, fetch, code, status) => {
    const refusal = await Promise.resolve(
      stageWith(fetch).run(
        resolvedOperation('mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id } }', caller, { id: A }),
      ),
    ).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ extensions: { code, http: { status } } });
    expect((refusal as Error).message).not.toMatch(/ECONNREFUSED|products|boom/);
  });
});
