/**
 * The explorer in a real browser: Debian's Chromium driven by playwright-core (never a downloaded browser), against
 * the test platform with the explorer on. A developer token is pasted, an operation runs, the result and its cost
 * are read off the page, and every request the page made is checked to have stayed on the gateway's origin.
 * Without /usr/bin/chromium this fails and says how to install it: CI installs it (.ci/run).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startTestPlatform, type TestPlatform } from '../testing/platform';
import { EXPLORER_CSP } from './routes';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', '..', 'artifacts');
const QUERY = '{ whoami { tenant roles } products { name inStock } }';

describe('schema explorer in Chromium', () => {
  let platform: TestPlatform;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`,
      );
    }
    platform = await startTestPlatform({ explorerEnabled: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it('serves the page with strict security headers and cacheable hashed assets', async () => {
    const res = await fetch(`${platform.gateway.url}/explorer`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
    const script = /src="(\/explorer\/assets\/explorer-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${platform.gateway.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('runs an operation with a pasted developer token and shows its cost, loading nothing from elsewhere', async () => {
    const origin = platform.gateway.url;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });

    await page.goto(`${origin}/explorer`);
    await page.fill('#token', await platform.issuer.sign({ roles: ['developer'] }));
    await page.click('#use-token');
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');
    await page.waitForSelector('#identity');
    expect(await page.textContent('#identity')).toMatch(/tenant acme · roles developer/);

    await page.evaluate(
      `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(${JSON.stringify(QUERY)})`,
    );
    await page.click('.graphiql-execute-button');
    await page.waitForSelector('[data-testid="requested-cost"]');
    await page.waitForFunction(
      `document.querySelector('.result-window .CodeMirror').CodeMirror.getValue().includes('whoami')`,
    );
    const result = JSON.parse(
      (await page.evaluate(`document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()`)) as string,
    ) as { data: { whoami: { tenant: string; roles: string[] }; products: unknown[] } };
    expect(result.data.whoami).toEqual({ tenant: 'acme', roles: ['developer'] });
    expect(result.data.products).toHaveLength(2);
    expect(await page.textContent('[data-testid="requested-cost"]')).toMatch(/^\d+$/);
    expect(await page.textContent('[data-testid="actual-cost"]')).toMatch(/^\d+$/);

    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector('.graphiql-doc-explorer');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'explorer.png') });

    expect(requests.length).toBeGreaterThan(0);
    for (const url of requests) expect(url.startsWith(`${origin}/`)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
