import { ErrorCode, gatewayError, httpStatusOf, isKnownErrorCode } from './errors';

describe('gatewayError', () => {
  it('carries the code and the status that goes with it', () => {
    const error = gatewayError(ErrorCode.UNAUTHENTICATED, 'Missing or invalid credentials');
    expect(error.message).toBe('Missing or invalid credentials');
    expect(error.extensions.code).toBe('UNAUTHENTICATED');
    expect(httpStatusOf(error)).toBe(401);
  });

  it.each([
    ['FORBIDDEN', 403],
    ['BAD_REQUEST', 400],
    ['PAYLOAD_TOO_LARGE', 413],
    ['UNSUPPORTED_MEDIA_TYPE', 415],
    ['SERVICE_UNAVAILABLE', 503],
    ['PERSISTED_QUERY_ID_REQUIRED', 400],
    ['PERSISTED_QUERY_NOT_IN_LIST', 400],
    ['RATE_LIMITED', 429],
    // The monthly cost-point quota (pipeline/quota.ts).
    ['QUOTA_EXCEEDED', 429],
    // Apollo's clients retry with the query on this code in a 200 response.
    ['PERSISTED_QUERY_NOT_FOUND', 200],
  ] as const)('answers %s with %i', (code, status) => {
    expect(httpStatusOf(gatewayError(ErrorCode[code], 'x'))).toBe(status);
  });

  it('leaves field-level codes without a status, so partial data keeps its 200', () => {
    const error = gatewayError(ErrorCode.DOWNSTREAM_SERVICE_ERROR, 'A downstream service failed');
    expect(error.extensions).toEqual({ code: 'DOWNSTREAM_SERVICE_ERROR' });
  });

  it('takes a status override, headers and extra extensions', () => {
    const error = gatewayError(ErrorCode.BAD_REQUEST, 'Only POST is supported.', {
      status: 405,
      headers: { Allow: 'POST' },
      extensions: { maximum: 3 },
    });
    expect(httpStatusOf(error)).toBe(405);
    const http = error.extensions.http as { headers: Map<string, string> };
    expect([...http.headers]).toEqual([['allow', 'POST']]);
    expect(error.extensions.maximum).toBe(3);
  });

  it('knows its codes', () => {
    expect(isKnownErrorCode('SUBGRAPH_TIMEOUT')).toBe(true);
    expect(isKnownErrorCode('E11000')).toBe(false);
    expect(isKnownErrorCode(undefined)).toBe(false);
  });
});
