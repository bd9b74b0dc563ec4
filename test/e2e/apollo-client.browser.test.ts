/**
 * Acceptance 1 of issue 19: a real browser frontend. Debian's Chromium (playwright-core) opens a shop page served
 * from an origin acme allows — `http://shop.acme.test:<port>`, a tiny HTTP server in this test, the hostname mapped
 * to 127.0.0.1 by Chromium's `--host-resolver-rules` — whose script (browser-client/app.js, bundled here by esbuild)
 * uses @apollo/client 4 with `name`/`version`, a `traceparent` header and `createPersistedQueryLink({ sha256,
 * useGETForHashedQueries: true })` against the real platform (real subgraphs on FerretDB, Redis budgets).
 *
 * Asserted in the page: the query runs by POST (APQ's first sight of it) and then by GET, the page's code reads
 * RateLimit, a mutation runs by POST and the same mutation forced onto GET is refused 405. Asserted on the gateway:
 * its request lines name the client and version and the methods, and the refused mutation changed no stock.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { createLogger } from '../../common/logger';
import { demoProductId } from '../../demo/subgraph-data';
import { startRealPlatform, type RealPlatform } from './platform';

const CHROMIUM = '/usr/bin/chromium';
const SHOP_HOST = 'shop.acme.test';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
/** Names this run's query (browser-client/app.js says why). */
const RUN = randomBytes(6).toString('hex');

interface RecordedRequest {
  method: string;
  status: number;
  query: boolean;
  rateLimit: string | null;
  requestId: string | null;
}

interface Step {
  data?: { product?: { quantity: number }; adjustStock?: { quantity: number } };
  error?: { status?: number; codes?: string[]; message?: string };
  requests: RecordedRequest[];
}

type Steps = Record<'firstQuery' | 'secondQuery' | 'mutation' | 'mutationByGet' | 'finalQuery', Step>;

async function bundleApp(): Promise<string> {
  const result = await build({
    entryPoints: [join(__dirname, 'browser-client', 'app.js')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function startShop(script: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/app.js') {
      res.setHeader('content-type', 'text/javascript');
      return res.end(script);
    }
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>Acme shop</title><script src="/app.js"></script><p>shop</p>');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

describe('Apollo Client 4 in Chromium, from a page on an allowed origin', () => {
  let platform: RealPlatform;
  let browser: Browser;
  let shop: { server: Server; port: number };
  let origin: string;
  const logs: Record<string, unknown>[] = [];
  const productId = demoProductId('acme', 'HOODIE-001');
  let steps: Steps;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`,
      );
    }
    shop = await startShop(await bundleApp());
    origin = `http://${SHOP_HOST}:${shop.port}`;
    platform = await startRealPlatform({
      // The demo tenant's own origin stays listed; the shop's is added as an operator would (`tenant update`).
      prepareControlPlane: async (controlPlane) => {
        const acme = await controlPlane.tenants.getTenant('acme');
        await controlPlane.tenants.updateTenant('acme', { origins: [...(acme?.origins ?? []), origin] });
      },
      logger: createLogger({
        level: 'info',
        sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
      }),
    });
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
        `--host-resolver-rules=MAP ${SHOP_HOST} 127.0.0.1`,
        // crypto.subtle (the page's SHA-256) exists in secure contexts only; a real shop is served over HTTPS.
        `--unsafely-treat-insecure-origin-as-secure=${origin}`,
      ],
    });
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      expect(await page.evaluate('location.origin')).toBe(origin);
      const token = await platform.token('acme', 'admin');
      steps = (await page.evaluate(
        `window.runScenario(${JSON.stringify({ gatewayUrl: `${platform.gateway.url}/graphql`, token, productId, traceparent: TRACEPARENT, run: RUN })})`,
      )) as Steps;
    } finally {
      await page.close();
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    shop?.server.close();
    await platform?.stop();
  });

  const requestLine = (requestId: string | null) =>
    logs.find((line) => line.msg === 'request' && line.requestId === requestId);

  it('runs a query by POST on first sight (APQ registers it), then by GET by its hash; the page reads RateLimit', () => {
    const { firstQuery, secondQuery } = steps;
    expect(firstQuery.error).toBeUndefined();
    expect(firstQuery.data?.product?.quantity).toEqual(expect.any(Number));
    // The hash alone by GET, unknown yet (PERSISTED_QUERY_NOT_FOUND, answered 200 as Apollo does), then the text by POST.
    expect(firstQuery.requests.map(({ method, query }) => [method, query])).toEqual([
      ['GET', true],
      ['POST', false],
    ]);
    expect(firstQuery.requests[1]?.status).toBe(200);
    expect(firstQuery.requests[1]?.rateLimit).toMatch(/^"budget";r=\d+;t=\d+$/);

    expect(secondQuery.error).toBeUndefined();
    expect(secondQuery.data).toEqual(firstQuery.data);
    expect(secondQuery.requests).toHaveLength(1);
    expect(secondQuery.requests[0]).toMatchObject({ method: 'GET', query: true, status: 200 });
    expect(secondQuery.requests[0]?.rateLimit).toMatch(/^"budget";r=\d+;t=\d+$/);
    expect(secondQuery.requests[0]?.requestId).toMatch(/^[A-Za-z0-9-]{8,64}$/);
  });

  it('runs the mutation by POST once, and refuses it forced onto GET (405) without changing anything', () => {
    const before = steps.secondQuery.data?.product?.quantity ?? NaN;
    expect(steps.mutation.error).toBeUndefined();
    expect(steps.mutation.data?.adjustStock?.quantity).toBe(before + 1);
    expect(steps.mutation.requests.every((r) => r.method === 'POST')).toBe(true);

    const { mutationByGet } = steps;
    expect(mutationByGet.data).toBeUndefined();
    expect(mutationByGet.requests).toEqual([expect.objectContaining({ method: 'GET', query: true, status: 405 })]);
    expect(mutationByGet.error?.codes).toEqual(['BAD_REQUEST']);
    expect(steps.finalQuery.data?.product?.quantity).toBe(before + 1);
  });

  it("logs, on the gateway, the client's name and version and each request's method", () => {
    const get = requestLine(steps.secondQuery.requests[0]?.requestId ?? null);
    expect(get).toMatchObject({
      method: 'GET',
      status: 200,
      tenant: 'acme',
      operationName: `Stock_${RUN}`,
      clientName: 'web-shop',
      clientVersion: '1.2.3',
    });
    const post = requestLine(steps.firstQuery.requests[1]?.requestId ?? null);
    expect(post).toMatchObject({ method: 'POST', status: 200, clientName: 'web-shop', clientVersion: '1.2.3' });
    const refused = requestLine(steps.mutationByGet.requests[0]?.requestId ?? null);
    expect(refused).toMatchObject({ method: 'GET', status: 405, errorCodes: ['BAD_REQUEST'], clientName: 'web-shop' });
  });
});
