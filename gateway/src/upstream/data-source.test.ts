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
import type { GatewayContext } from '../request';
import { DEFAULT_PLANS } from '../tenants/plan';
import type { TenantRecord } from '../tenants/tenant';
import { createCircuitBreaker, type CircuitBreaker } from './circuit-breaker';
import { FETCH_FAILURE } from './fetch-failure';
import { SubgraphDataSource } from './data-source';
import type { SubgraphAnswer, SubgraphPoster } from './fetcher';

const SECRET = randomBytes(32);
const QUERY =
  'query Stock__inventory__1($representations:[_Any!]!){_entities(representations:$representations){...on Product{inStock}}}';
const NOW = 1_800_000_000_000;
const PRODUCT = { __typename: 'Product', id: 'p1' };
/** The extensions of an error the data source wrote, with the mark only it can set (fetch-failure.ts). */
const marked = (extensions: Record<string, unknown>) => ({ ...extensions, [FETCH_FAILURE]: true });

const tenant: TenantRecord = {
  id: 'acme',
  name: 'Acme',
  status: 'active',
  isolation: 'silo',
  placementEpoch: 3,
  plan: DEFAULT_PLANS[0]!,
  origins: [],
  authzMode: 'reject',
  costMode: 'enforce',
  safelistMode: 'off',
};

const context: GatewayContext = {
  requestId: 'req-12345678',
  caller: { tenantId: 'acme', principal: 'user-1', roles: ['staff'], credential: 'jwt', tokenExpiresAt: NOW + 60_000 },
  tenant,
  log: { errorCodes: [] },
};

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What the poster resolves with: the subgraph's answer, read to the end. */
function answer(text: string, status = 200, contentType = 'application/json'): SubgraphAnswer {
  return { statusCode: status, contentType, body: text };
}

const json = (value: unknown, status = 200) => answer(JSON.stringify(value), status);

function setup(
  respond: () => Promise<SubgraphAnswer> = async () => json({ data: { _entities: [] } }),
  breaker?: CircuitBreaker,
) {
  const sent: Sent[] = [];
  const logs: Record<string, unknown>[] = [];
  const post: SubgraphPoster = async (request) => {
    sent.push({ url: request.url, headers: { ...request.headers }, body: request.body });
    return respond();
  };
  const dataSource = new SubgraphDataSource({
    name: 'inventory',
    url: 'http://inventory.internal:4003/graphql',
    key: deriveSubgraphKey(SECRET, 'inventory'),
    post,
    logger: createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
    now: () => NOW,
    ...(breaker ? { breaker } : {}),
  });
  return { dataSource, sent, logs };
}

/** An operation fetch as the gateway's executor builds it. */
function operation(
  ctx: Partial<GatewayContext>,
  representations: unknown[] = [],
): GraphQLDataSourceProcessOptions<GatewayContext> {
  return {
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query: QUERY, variables: { representations } },
    // Only read for cache-control hints, which play no part here.
    incomingRequestContext: {} as never,
    context: ctx as GatewayContext,
  };
}

function verify(sent: Sent | undefined, query = QUERY) {
  const token = sent?.headers[INTERNAL_TOKEN_HEADER];
  if (!token) throw new Error('no internal token sent');
  return verifyInternalToken(token, {
    key: deriveSubgraphKey(SECRET, 'inventory'),
    audience: 'inventory',
    query,
    now: NOW,
  });
}

describe('SubgraphDataSource', () => {
  it("sends nothing before the operation's pending admission is decided, and nothing at all when it refuses", async () => {
    const { dataSource, sent } = setup();
    let decide: (refusal: GraphQLError | undefined) => void = () => undefined;
    const decision = new Promise<GraphQLError | undefined>((resolve) => (decide = resolve));
    const admitted = dataSource.process(operation({ ...context, admission: { stage: 'cost', decision } }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveLength(0);
    decide(undefined);
    await admitted;
    expect(sent).toHaveLength(1);

    const refusal = new GraphQLError('The cost budget is used up; retry in 3 s.', {
      extensions: { code: 'RATE_LIMITED' },
    });
    const refused = await dataSource.process(
      operation({ ...context, admission: { stage: 'cost', decision: Promise.resolve(refusal) } }),
    );
    expect(sent).toHaveLength(1);
    expect(refused).toEqual({
      data: null,
      errors: [{ message: refusal.message, extensions: { code: 'RATE_LIMITED' } }],
    });
  });

  it("sends an op token naming the subgraph, the caller, the tenant's placement and the exact query", async () => {
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
      plc: { tier: 'silo', epoch: 3 },
    });
  });

  it.each([
    ['no tenant snapshot', { ...context, tenant: undefined }],
    ["another tenant's snapshot", { ...context, tenant: { ...tenant, id: 'globex' } }],
  ])('refuses to send an operation with %s: its placement is unknown', async (_label, ctx) => {
    const { dataSource, sent } = setup();
    await expect(dataSource.process(operation(ctx))).rejects.toThrow("without the caller's tenant placement");
    expect(sent).toHaveLength(0);
  });

  it('sends only its own headers, and the query, variables and operation name as JSON to its URL', async () => {
    const { dataSource, sent } = setup();
    const fetch = operation(context);
    fetch.request.operationName = 'Stock__inventory__1';
    const result = await dataSource.process(fetch);
    expect(result).toEqual({ data: { _entities: [] } });
    expect(sent[0]?.url).toBe('http://inventory.internal:4003/graphql');
    expect(
      Object.keys(sent[0]?.headers ?? {})
        .map((h) => h.toLowerCase())
        .sort(),
    ).toEqual(['content-type', INTERNAL_TOKEN_HEADER]);
    expect(sent[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent[0]?.body ?? '')).toEqual({
      query: QUERY,
      variables: { representations: [] },
      operationName: 'Stock__inventory__1',
    });
  });

  it('sends a tenant-less svc token for health checks and schema loading', async () => {
    const { dataSource, sent } = setup(async () => json({ data: { __typename: 'Query' } }));
    const query = 'query __ApolloServiceHealthCheck__ { __typename }';
    for (const kind of [
      GraphQLDataSourceRequestKind.HEALTH_CHECK,
      GraphQLDataSourceRequestKind.LOADING_SCHEMA,
    ] as const) {
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

  // A failed fetch of an operation answers data null and errors with paths, which the gateway's executor rewrites to
  // response paths (fetch-failure.ts); it does not throw, which would leave the client errors without a path.
  it.each([
    ['a 502 with an HTML page', 502],
    ['a redirect', 307],
  ])('turns %s into DOWNSTREAM_SERVICE_ERROR that carries nothing of the answer', async (_label, status) => {
    const bad = answer('<html>MongoServerError at 10.1.2.3</html>', status, 'text/html');
    const { dataSource, logs } = setup(async () => bad);
    const result = await dataSource.process(operation(context, [PRODUCT]));
    expect(result.data).toBeNull();
    expect(result.errors).toEqual([
      {
        message: 'A downstream service failed',
        path: ['_entities', 0, 'inStock'],
        extensions: marked({ code: 'DOWNSTREAM_SERVICE_ERROR' }),
      },
    ]);
    expect(JSON.stringify(result)).not.toMatch(/Mongo|10\.1\.2\.3|inventory\.internal|50\d|307/);
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'subgraph fetch failed',
        subgraph: 'inventory',
        status,
        requestId: 'req-12345678',
        tenant: 'acme',
      }),
    );
  });

  it('turns a timeout into SUBGRAPH_TIMEOUT', async () => {
    const { dataSource, logs } = setup(async () => {
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    });
    await expect(dataSource.process(operation(context, [PRODUCT, PRODUCT]))).resolves.toEqual({
      data: null,
      errors: [
        {
          message: 'A downstream service timed out',
          path: ['_entities', 0, 'inStock'],
          extensions: marked({ code: 'SUBGRAPH_TIMEOUT' }),
        },
        {
          message: 'A downstream service timed out',
          path: ['_entities', 1, 'inStock'],
          extensions: marked({ code: 'SUBGRAPH_TIMEOUT' }),
        },
      ],
    });
    expect(logs).toContainEqual(expect.objectContaining({ reason: 'timeout' }));
  });

  it('turns a refused connection into DOWNSTREAM_SERVICE_ERROR and logs the cause', async () => {
    const { dataSource, logs } = setup(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4003'), { code: 'ECONNREFUSED' });
    });
    const result = await dataSource.process(operation(context, [PRODUCT]));
    expect(result.errors).toEqual([
      expect.objectContaining({
        path: ['_entities', 0, 'inStock'],
        extensions: marked({ code: 'DOWNSTREAM_SERVICE_ERROR' }),
      }),
    ]);
    expect(logs).toContainEqual(expect.objectContaining({ reason: 'ECONNREFUSED' }));
  });

  it.each([
    ['text/plain', answer('OK', 200, 'text/plain')],
    ['unparsable JSON', answer('{"data":', 200)],
    ['a JSON array', answer('[]', 200)],
    ['JSON null', answer('null', 200, 'application/graphql-response+json')],
    ['data that is not an object', answer('{"data":"yes"}', 200)],
    ['_entities not one per representation', answer('{"data":{"_entities":[]}}', 200)],
  ])('turns an answer that is %s into DOWNSTREAM_SERVICE_ERROR', async (_label, bad) => {
    const { dataSource } = setup(async () => bad);
    const result = await dataSource.process(operation(context, [PRODUCT]));
    expect(result).toEqual({
      data: null,
      errors: [expect.objectContaining({ extensions: marked({ code: 'DOWNSTREAM_SERVICE_ERROR' }) })],
    });
  });

  it('throws for a failed health check, which has no response paths', async () => {
    const { dataSource } = setup(async () => answer('down', 503, 'text/plain'));
    const error = await dataSource
      .process({ kind: GraphQLDataSourceRequestKind.HEALTH_CHECK, request: { query: '{ __typename }' }, context: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions).toEqual({ code: 'DOWNSTREAM_SERVICE_ERROR' });
  });

  describe('with a circuit breaker', () => {
    const breaker = () => createCircuitBreaker({ failureThreshold: 2, coolDownMs: 60_000 });

    it('counts timeouts, connection errors, 5xx and malformed answers, then fails fast with CIRCUIT_OPEN and sends nothing', async () => {
      const failures = [
        async () => {
          throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
        },
        async () => answer('oops', 500, 'text/plain'),
      ];
      for (const fail of failures) {
        const cb = breaker();
        const { dataSource, sent, logs } = setup(fail, cb);
        await dataSource.process(operation(context, [PRODUCT]));
        expect(cb.state()).toBe('closed');
        await dataSource.process(operation(context, [PRODUCT]));
        expect(cb.state()).toBe('open');
        const result = await dataSource.process(operation(context, [PRODUCT]));
        expect(sent).toHaveLength(2);
        expect(result.errors).toEqual([
          {
            message: 'A downstream service failed',
            path: ['_entities', 0, 'inStock'],
            extensions: marked({ code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' }),
          },
        ]);
        expect(logs).toContainEqual(
          expect.objectContaining({
            level: 'debug',
            msg: 'subgraph fetch not sent: circuit open',
            requestId: 'req-12345678',
          }),
        );
      }
    });

    it('counts neither a 4xx nor an answer with GraphQL errors as a failure', async () => {
      const answers = [
        answer('{"errors":[{"message":"too large"}]}', 413),
        json({
          data: { _entities: [null] },
          errors: [{ message: 'No such product', extensions: { code: 'NOT_FOUND' } }],
        }),
      ];
      const cb = breaker();
      let next = 0;
      const { dataSource, sent } = setup(async () => answers[next++ % answers.length]!, cb);
      for (let i = 0; i < 6; i++) await dataSource.process(operation(context, [PRODUCT]));
      expect(cb.state()).toBe('closed');
      expect(sent).toHaveLength(6);
    });

    it('neither refuses nor counts health checks', async () => {
      const cb = breaker();
      const { dataSource, sent } = setup(async () => answer('down', 503, 'text/plain'), cb);
      const healthCheck = () =>
        dataSource
          .process({
            kind: GraphQLDataSourceRequestKind.HEALTH_CHECK,
            request: { query: '{ __typename }' },
            context: {},
          })
          .catch(() => undefined);
      for (let i = 0; i < 3; i++) await healthCheck();
      expect(cb.state()).toBe('closed');
      await dataSource.process(operation(context, [PRODUCT]));
      await dataSource.process(operation(context, [PRODUCT]));
      expect(cb.state()).toBe('open');
      await healthCheck();
      expect(sent).toHaveLength(6);
    });
  });

  it('reads an application/graphql-response+json answer', async () => {
    const { dataSource } = setup(async () =>
      answer('{"data":{"_entities":[null]}}', 200, 'application/graphql-response+json; charset=utf-8'),
    );
    await expect(dataSource.process(operation(context, [PRODUCT]))).resolves.toEqual({ data: { _entities: [null] } });
  });
});
