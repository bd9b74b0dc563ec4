/**
 * The explorer in a real browser: Debian's Chromium driven by playwright-core (never a downloaded browser), against
 * the test platform with the explorer on. A developer token is pasted, an operation runs, the result and its cost
 * are read off the page, and every request the page made is checked to have stayed on the gateway's origin.
 * Without /usr/bin/chromium this fails and says how to install it: CI installs it (.ci/run).
 */
import type { Browser } from 'playwright-core';
import { editorText, launchChromium, screenshot, setEditorText, watchPage } from '../testing/browser';
import { startTestPlatform, type TestPlatform } from '../testing/platform';
import { EXPLORER_CSP, explorerPageCsp } from './routes';

const QUERY = '{ whoami { tenant roles } products { name inStock } }';

describe('schema explorer in Chromium', () => {
  let platform: TestPlatform;
  let browser: Browser;

  beforeAll(async () => {
    // As in cors.browser.test.ts: Chromium beside the platform takes both cores of a CI machine for a while, and
    // the test platform's 400 ms subgraph deadline (for the tests of timeouts) is not what this file is about.
    platform = await startTestPlatform({ explorerEnabled: true, subgraphTimeoutMs: 5_000 });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it('serves the page with strict security headers and cacheable hashed assets', async () => {
    const res = await fetch(`${platform.gateway.url}/explorer`);
    expect(res.status).toBe(200);
    const html = await res.text();
    // The page's policy is the assets' plus a style nonce of its own, fresh for every response.
    const nonce = /data-style-nonce="([A-Za-z0-9+/=]{24})"/.exec(html)?.[1];
    expect(nonce).toBeDefined();
    expect(res.headers.get('content-security-policy')).toBe(explorerPageCsp(nonce!));
    expect(res.headers.get('content-security-policy')).toContain(EXPLORER_CSP);
    const again = await (await fetch(`${platform.gateway.url}/explorer`)).text();
    expect(again).not.toContain(nonce);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
    const script = /src="(\/explorer\/assets\/explorer-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const workers = [...html.matchAll(/data-[a-z]+-worker="(\/explorer\/assets\/[a-z]+-worker-[A-Z0-9]+\.js)"/g)];
    expect(workers).toHaveLength(3);
    for (const asset of [script!, ...workers.map((match) => match[1]!)]) {
      const res = await fetch(`${platform.gateway.url}${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
    }
  });

  it('runs an operation with a pasted developer token and shows its cost, loading nothing from elsewhere', async () => {
    const origin = platform.gateway.url;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const { requests, problems } = watchPage(page);

    await page.goto(`${origin}/explorer`);
    await page.fill('#token', await platform.issuer.sign({ roles: ['developer'] }));
    await page.click('#use-token');
    await page.waitForSelector('.graphiql-query-editor .monaco-editor');
    await page.waitForSelector('#identity');
    expect(await page.textContent('#identity')).toMatch(/tenant acme · roles developer/);

    await setEditorText(page, '.graphiql-query-editor', QUERY);
    await page.click('.graphiql-execute-button');
    await page.waitForSelector('[data-testid="requested-cost"]:not(:text("—"))');
    await page.waitForSelector('.graphiql-response .view-lines:has-text("whoami")');
    const result = JSON.parse(await editorText(page, '.graphiql-response')) as {
      data: { whoami: { tenant: string; roles: string[] }; products: unknown[] };
    };
    expect(result.data.whoami).toEqual({ tenant: 'acme', roles: ['developer'] });
    expect(result.data.products).toHaveLength(2);
    expect(await page.textContent('[data-testid="requested-cost"]')).toMatch(/^\d+$/);
    expect(await page.textContent('[data-testid="actual-cost"]')).toMatch(/^\d+$/);

    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector('.graphiql-doc-explorer');
    await screenshot(page, 'explorer.png');

    expect(requests.length).toBeGreaterThan(0);
    for (const url of requests) expect(url.startsWith(`${origin}/`)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
