/**
 * CORS in a real browser: Debian's Chromium (playwright-core, as explorer.browser.test.ts) opens a page served by a
 * tiny static server on another 127.0.0.1 port, which acme lists as its origin. The page calls the gateway with
 * `fetch` and the headers Apollo Client, OpenTelemetry web and Sentry add — Chromium runs the real preflight — and
 * reads the RateLimit header; the same page on an origin no tenant lists gets "Failed to fetch".
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { ACME_ORIGIN, startTestPlatform, type TestPlatform } from '../testing/platform';

const CHROMIUM = '/usr/bin/chromium';

function startPageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>shop</title><p>shop</p>');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });
}

/** What the page's script reports back. */
interface PageResult {
  error?: string;
  status?: number;
  rateLimit?: string | null;
  requestId?: string | null;
  data?: unknown;
  /** The codes of the errors the answer carried, so a failed call says why. */
  errorCodes?: unknown[];
}

/** Runs in the page: one POST to the gateway as a browser client built on Apollo Client and Sentry would send it. */
const CALL_GATEWAY = `async ([url, token]) => {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer ' + token,
        'apollographql-client-name': 'web-shop',
        'apollographql-client-version': '1.2.3',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        tracestate: 'vendor=value',
        'sentry-trace': '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1',
        baggage: 'sentry-environment=test',
      },
      body: JSON.stringify({ query: '{ whoami { tenant } }' }),
    });
    const body = await res.json();
    return {
      status: res.status,
      rateLimit: res.headers.get('ratelimit'),
      requestId: res.headers.get('x-request-id'),
      data: body.data,
      errorCodes: (body.errors ?? []).map((error) => error.extensions && error.extensions.code),
    };
  } catch (error) {
    return { error: String(error) };
  }
}`;

describe('CORS in Chromium', () => {
  let platform: TestPlatform;
  let browser: Browser;
  let allowedPage: { server: Server; origin: string };
  let otherPage: { server: Server; origin: string };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`,
      );
    }
    // Chromium starting beside the platform takes both cores of a CI machine for a while: the test platform's short
    // subgraph deadline (400 ms, for the tests of timeouts) is not what this file is about.
    platform = await startTestPlatform({ subgraphTimeoutMs: 5_000 });
    allowedPage = await startPageServer();
    otherPage = await startPageServer();
    await platform.controlPlane.tenants.updateTenant('acme', { origins: [ACME_ORIGIN, allowedPage.origin] });
    // The gateway hears of the change through Redis; a preflight answered for the origin shows it has.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await fetch(`${platform.gateway.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin: allowedPage.origin, 'access-control-request-method': 'POST' },
      });
      if (res.status === 204) break;
      if (Date.now() > deadline) throw new Error('the gateway never allowed the page origin');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    allowedPage?.server.close();
    otherPage?.server.close();
    await platform?.stop();
  });

  const callFrom = async (origin: string): Promise<PageResult> => {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      const token = await platform.issuer.sign();
      return (await page.evaluate(
        `(${CALL_GATEWAY})(${JSON.stringify([`${platform.gateway.url}/graphql`, token])})`,
      )) as PageResult;
    } finally {
      await page.close();
    }
  };

  it("lets a page of the tenant's origin send client, trace and Sentry headers and read RateLimit", async () => {
    const result = await callFrom(allowedPage.origin);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    // A failed call shows the gateway's log lines of the request (the subgraph fetch's failure among them).
    const lines = result.errorCodes?.length ? platform.logs.filter((line) => line.requestId === result.requestId) : [];
    expect({ errorCodes: result.errorCodes, lines }).toEqual({ errorCodes: [], lines: [] });
    expect(result.data).toEqual({ whoami: { tenant: 'acme' } });
    expect(result.rateLimit).toMatch(/^"budget";r=\d+;t=\d+$/);
    expect(result.requestId).toMatch(/^[A-Za-z0-9-]{8,64}$/);
  }, 60_000);

  it('gives a page of an origin no tenant lists nothing: the browser refuses the call', async () => {
    const result = await callFrom(otherPage.origin);
    expect(result.error).toMatch(/Failed to fetch/);
    expect(result.status).toBeUndefined();
  }, 60_000);
});
