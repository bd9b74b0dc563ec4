import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { randomBytes } from 'node:crypto';
import { GraphQLError } from 'graphql';
import {
  DEFAULT_TOKEN_TTL_MS,
  INTERNAL_TOKEN_HEADER,
  deriveSubgraphKey,
  hashQuery,
  verifyInternalToken,
} from '../../../common/internal-token';
import { createLogger } from '../../../common/logger';
import type { GatewayContext } from '../pipeline';
import { SubgraphDataSource } from './data-source';
import type { Fetcher } from './fetcher';

const SECRET = randomBytes(32);
const QUERY = 'query Stock__inventory__1($representations:[_Any!]!){_entities(representations:$representations){...on Product{inStock}}}';
const NOW = 1_800_000_000_000;

const context: GatewayContext = {
  requestId: 'req-12345678',
  caller: { tenantId: 'acme', principal: 'user-1', roles: ['staff'], credential: 'jwt', tokenExpiresAt: NOW + 60_000 },
  log: { errorCodes: [] },
};

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function setup(answer: () => Promise<Response> = async () => json({ data: { _entities: [] } })) {
  const sent: Sent[] = [];
  const logs: Record<string, unknown>[] = [];
  const fetcher: Fetcher = async (url, init) => {
    sent.push({ url, headers: init?.headers ?? {}, body: String(init?.body) });
    return answer();
  };
  const dataSource = new SubgraphDataSource({
    name: 'inventory',
    url: 'http://inventory.internal:4003/graphql',
    key: deriveSubgraphKey(SECRET, 'inventory'),
    fetcher,
    logger: createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
    now: () => NOW,
  });
  return { dataSource, sent, logs };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** An operation fetch as the gateway's executor builds it. */
function operation(ctx: Partial<GatewayContext>): GraphQLDataSourceProcessOptions<GatewayContext> {
  return {
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query: QUERY, variables: { representations: [] } },
    // Only read for cache-control hints, which play no part here.
    incomingRequestContext: {} as never,
    context: ctx as GatewayContext,
  };
}

function verify(sent: Sent | undefined, query = QUERY) {
  const token = sent?.headers[INTERNAL_TOKEN_HEADER];
  if (!token) throw new Error('no internal token sent');
  return verifyInternalToken(token, { key: deriveSubgraphKey(SECRET, 'inventory'), audience: 'inventory', query, now: NOW });
}

describe('SubgraphDataSource', () => {
  it('sends an op token naming the subgraph, the caller and the exact query', async () => {
    const { dataSource, sent } = setup();
    await dataSource.process(operation(context));
    expect(verify(sent[0])).toEqual({
      kind: 'op',
      aud: 'inventory',
      ten: 'acme',
      sub: 'user-1',
      roles: ['staff'],
      qh: hashQuery(QUERY),
      rid: 'req-12345678',
      iat: NOW,
      exp: NOW + DEFAULT_TOKEN_TTL_MS,
    });
  });

  it('sends only its own headers', async () => {
    const { dataSource, sent } = setup();
    await dataSource.process(operation(context));
    expect(Object.keys(sent[0]?.headers ?? {}).map((h) => h.toLowerCase()).sort()).toEqual(['content-type', INTERNAL_TOKEN_HEADER]);
  });

  it('sends a tenant-less svc token for health checks and schema loading', async () => {
    const { dataSource, sent } = setup(async () => json({ data: { __typename: 'Query' } }));
    const query = 'query __ApolloServiceHealthCheck__ { __typename }';
    for (const kind of [GraphQLDataSourceRequestKind.HEALTH_CHECK, GraphQLDataSourceRequestKind.LOADING_SCHEMA] as const) {
      await dataSource.process({ kind, request: { query }, context: {} });
    }
    for (const request of sent) {
      expect(verify(request, query)).toMatchObject({ kind: 'svc', aud: 'inventory', ten: '', sub: '', roles: [] });
    }
  });

  it.each([
    ['no context', {}],
    ['a context without a caller', { requestId: 'req-12345678', log: { errorCodes: [] } }],
  ])('refuses to send an operation with %s', async (_label, ctx) => {
    const { dataSource, sent } = setup();
    await expect(dataSource.process(operation(ctx))).rejects.toThrow('without an authenticated caller');
    expect(sent).toHaveLength(0);
  });

  it('turns a non-2xx answer into DOWNSTREAM_SERVICE_ERROR that carries nothing of the answer', async () => {
    const answer = new Response('<html>MongoServerError at 10.1.2.3</html>', { status: 502, statusText: 'Bad Gateway' });
    const { dataSource, logs } = setup(async () => answer);
    const error = await dataSource.process(operation(context)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).message).toBe('A downstream service failed');
    expect((error as GraphQLError).extensions).toEqual({ code: 'DOWNSTREAM_SERVICE_ERROR' });
    expect(answer.bodyUsed).toBe(true);
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'subgraph fetch failed', subgraph: 'inventory', status: 502, requestId: 'req-12345678', tenant: 'acme' }),
    );
  });

  it('turns a timeout into SUBGRAPH_TIMEOUT', async () => {
    const { dataSource, logs } = setup(async () => {
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    });
    await expect(dataSource.process(operation(context))).rejects.toMatchObject({
      message: 'A downstream service timed out',
      extensions: { code: 'SUBGRAPH_TIMEOUT' },
    });
    expect(logs).toContainEqual(expect.objectContaining({ reason: 'timeout' }));
  });

  it('turns a refused connection into DOWNSTREAM_SERVICE_ERROR and logs the cause', async () => {
    const { dataSource, logs } = setup(async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    });
    await expect(dataSource.process(operation(context))).rejects.toMatchObject({
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
    });
    expect(logs).toContainEqual(expect.objectContaining({ reason: 'ECONNREFUSED' }));
  });

  it('turns an answer that is not JSON into DOWNSTREAM_SERVICE_ERROR', async () => {
    const { dataSource } = setup(async () => new Response('OK', { status: 200, headers: { 'content-type': 'text/plain' } }));
    await expect(dataSource.process(operation(context))).rejects.toMatchObject({
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
    });
  });
});
