import { requestLineFields, requestLogLevel } from './request-log';
import type { RequestLog } from '../request';

describe('requestLogLevel', () => {
  it.each([
    ['/graphql', 200, [], 'info'],
    ['/graphql', 200, ['NOT_FOUND'], 'info'],
    ['/graphql', 400, ['GRAPHQL_VALIDATION_FAILED'], 'info'],
    ['/graphql', 401, ['UNAUTHENTICATED'], 'info'],
    ['/graphql', 403, ['FORBIDDEN'], 'info'],
    ['/graphql', 429, ['RATE_LIMITED'], 'info'],
    ['/graphql', 200, ['DOWNSTREAM_SERVICE_ERROR'], 'error'],
    ['/graphql', 200, ['NOT_FOUND', 'SUBGRAPH_TIMEOUT'], 'error'],
    ['/graphql', 503, ['SERVICE_UNAVAILABLE'], 'error'],
    ['/graphql', 500, ['INTERNAL_SERVER_ERROR'], 'error'],
    ['/graphql', 502, [], 'error'],
    ['/healthz', 200, [], 'debug'],
    ['/readyz', 503, [], 'debug'],
  ] as const)('%s answered %i with %j is %s', (path, status, codes, level) => {
    expect(requestLogLevel(path, status, codes)).toBe(level);
  });
});

describe('requestLineFields', () => {
  const base = {
    requestId: 'r-12345678',
    method: 'POST',
    path: '/graphql',
    status: 200,
    durationMs: 12.5,
    client: { clientName: 'storefront-web', clientVersion: '3.2.1' },
    aborted: false,
  };

  it('carries what the stages noted, under the shared keys', () => {
    const log: RequestLog = {
      errorCodes: [],
      tenantId: 'acme',
      principal: 'user-1',
      credential: 'jwt',
      operationName: 'Storefront',
      requestedCost: 42,
      actualCost: 37,
      subgraphFetches: 3,
      subgraphFetchesDeduplicated: 2,
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
    };
    expect(requestLineFields({ ...base, log })).toEqual({
      requestId: 'r-12345678',
      method: 'POST',
      path: '/graphql',
      status: 200,
      durationMs: 12.5,
      tenant: 'acme',
      principal: 'user-1',
      credential: 'jwt',
      clientName: 'storefront-web',
      clientVersion: '3.2.1',
      operationName: 'Storefront',
      costRequested: 42,
      costActual: 37,
      subgraphFetches: 3,
      deduplicated: 2,
      errorCodes: [],
      reason: undefined,
      aborted: undefined,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
    });
  });

  it('has no trace keys when no span was seen (they would hide the mixin’s), zero fetches, and notes an abort', () => {
    const fields = requestLineFields({ ...base, aborted: true, log: { errorCodes: ['UNAUTHENTICATED'] } });
    expect(fields).not.toHaveProperty('trace_id');
    expect(fields).not.toHaveProperty('span_id');
    expect(fields).toMatchObject({ subgraphFetches: 0, aborted: true, errorCodes: ['UNAUTHENTICATED'] });
  });
});
