import { DEFAULT_CORS_ALLOWED_HEADERS, corsHeaderLists, readHeaderList } from './cors-headers';

describe('CORS header lists', () => {
  it("allow the headers real browser clients send by default, and expose the budget's and the request id", () => {
    const { allowed, exposed } = corsHeaderLists();
    for (const header of [
      'apollographql-client-name',
      'apollographql-client-version',
      'traceparent',
      'tracestate',
      'sentry-trace',
      'baggage',
    ]) {
      expect(allowed.split(', ')).toContain(header);
    }
    expect(allowed.split(', ')).not.toContain('x-api-key');
    expect(exposed.split(', ').sort()).toEqual([
      'ratelimit',
      'ratelimit-policy',
      'retry-after',
      'tollgate-quota-warning',
      'x-request-id',
    ]);
  });

  it("add a deployment's headers to the defaults, each once", () => {
    const { allowed, exposed } = corsHeaderLists({
      extraAllowedHeaders: ['x-client-build', 'traceparent'],
      extraExposedHeaders: ['x-served-by'],
    });
    expect(allowed.split(', ')).toEqual([...DEFAULT_CORS_ALLOWED_HEADERS, 'x-client-build']);
    expect(exposed.split(', ')).toContain('x-served-by');
  });

  it('read a comma-separated list, lower-cased, trimmed and without repeats', () => {
    const problems: string[] = [];
    expect(
      readHeaderList(' X-Client-Build , x-client-build,,X-Feature ', 'CORS_ALLOWED_HEADERS', 'allowed', problems),
    ).toEqual(['x-client-build', 'x-feature']);
    expect(readHeaderList(undefined, 'CORS_ALLOWED_HEADERS', 'allowed', problems)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it.each([
    ['*', 'allowed', 'CORS_ALLOWED_HEADERS may not contain *'],
    ['x-api-key', 'allowed', 'CORS_ALLOWED_HEADERS may not contain x-api-key'],
    ['Cookie', 'allowed', 'CORS_ALLOWED_HEADERS may not contain cookie'],
    ['set-cookie', 'exposed', 'CORS_EXPOSED_HEADERS may not contain set-cookie'],
    ['x a', 'allowed', 'CORS_ALLOWED_HEADERS must be a comma-separated list of header names'],
    ['x-ok; x-b', 'exposed', 'CORS_EXPOSED_HEADERS must be a comma-separated list of header names'],
  ] as const)('refuse %j in the %s list', (raw, kind, problem) => {
    const problems: string[] = [];
    const name = kind === 'allowed' ? 'CORS_ALLOWED_HEADERS' : 'CORS_EXPOSED_HEADERS';
    expect(readHeaderList(raw, name, kind, problems)).toEqual([]);
    expect(problems).toEqual([problem]);
  });
});
