/**
 * CORS for real browser clients over real HTTP (the test platform, acme allowing ACME_ORIGIN): the headers Apollo
 * Client, OpenTelemetry web and Sentry add pass the preflight from a tenant's origin and from no other, a
 * deployment's own additions (`CORS_ALLOWED_HEADERS`/`CORS_EXPOSED_HEADERS`) are answered too, and the page may read
 * the budget's RateLimit headers.
 */
import { ACME_ORIGIN, startTestPlatform, type TestPlatform } from '../testing/platform';

const CLIENT_HEADERS = [
  'authorization',
  'content-type',
  'apollographql-client-name',
  'apollographql-client-version',
  'traceparent',
  'tracestate',
  'sentry-trace',
  'baggage',
  'apollo-require-preflight',
];

const listOf = (value: string | null) => (value ?? '').split(',').map((name) => name.trim().toLowerCase());

describe('CORS for browser clients', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({
      cors: { extraAllowedHeaders: ['x-client-build'], extraExposedHeaders: ['x-served-by'] },
    });
  });

  afterAll(async () => {
    await platform?.stop();
  });

  const preflight = (origin: string, headers: readonly string[]) =>
    fetch(`${platform.gateway.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': headers.join(', '),
      },
    });

  it("allows the headers real clients send, and the deployment's own, from a tenant's origin", async () => {
    const res = await preflight(ACME_ORIGIN, [...CLIENT_HEADERS, 'x-client-build']);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ACME_ORIGIN);
    const allowed = listOf(res.headers.get('access-control-allow-headers'));
    for (const header of [...CLIENT_HEADERS, 'x-client-build']) expect(allowed).toContain(header);
    expect(allowed).not.toContain('x-api-key');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('answers the same preflight from an origin no tenant allows with 403 and no CORS headers', async () => {
    const res = await preflight('https://evil.example', CLIENT_HEADERS);
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('serves a request carrying those headers and lets the page read RateLimit, Retry-After and the request id', async () => {
    const res = await platform.graphql(
      { query: '{ whoami { tenant } }' },
      {
        headers: {
          origin: ACME_ORIGIN,
          'apollographql-client-name': 'web-shop',
          'apollographql-client-version': '1.2.3',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          tracestate: 'vendor=value',
          'sentry-trace': '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1',
          baggage: 'sentry-environment=test',
        },
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ whoami: { tenant: 'acme' } });
    expect(res.headers.get('access-control-allow-origin')).toBe(ACME_ORIGIN);
    const exposed = listOf(res.headers.get('access-control-expose-headers'));
    expect(exposed).toEqual(
      expect.arrayContaining(['ratelimit', 'ratelimit-policy', 'retry-after', 'x-request-id', 'x-served-by']),
    );
    expect(res.headers.get('ratelimit')).toMatch(/^"budget";r=\d+;t=\d+$/);
  });

  it('exposes nothing to a page of an origin no tenant allows', async () => {
    const res = await platform.graphql(
      { query: '{ whoami { tenant } }' },
      { headers: { origin: 'https://evil.example' } },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
  });
});
