/**
 * Issue 19, acceptance 2: the explorer in Debian's Chromium against the real graph, rules and subgraphs. Each test
 * saves a screenshot under .data/artifacts/explorer/ (what it shows is said where it is taken):
 * - the Headers tab is honoured (a header the user adds reaches the gateway, which echoes it) and a header that is
 *   not sent or that the gateway refuses is shown in a notice, never dropped in silence;
 * - "View as" shows and runs the graph as a persona: `customer` has mutations, `developer` none;
 * - the token's expiry counts down, an expired token says so, and the token survives a reload only when kept;
 * - the estimate appears before anything runs, and a document over the plan's maximum is coloured;
 * - the gateway's query plan is shown in its panel, follows edits, and shows at once on any new page;
 * - a persona or token change keeps the document, variables and headers in their one tab, priced with those
 *   variables, and a new page of the same browser context opens the tab GraphiQL saved, once.
 */
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { demoProductId } from '../../demo/subgraph-data';
import { editorText, launchChromium, screenshot, setEditorText, watchPage } from '../../gateway/src/testing/browser';
import { startRealPlatform, type RealPlatform } from './platform';

const QUERY_EDITOR = '.graphiql-query-editor';
const HEADER_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';
const PRODUCTS = '{ products(first: 2) { edges { node { name } } } }';
/** 100 products × (1 + 100 reviews): far over the free plan's maximum of 500. */
const EXPENSIVE =
  '{ products(first: 100) { edges { node { name reviews(first: 100) { edges { node { id rating } } } } } } }';

let platform: RealPlatform;
let browser: Browser;
/** A developer who is also a customer: the persona "View as" can select. */
let developer: string;

beforeAll(async () => {
  platform = await startRealPlatform({
    gateway: { explorerEnabled: true },
    // The free plan's maximum (500) is what a large document is coloured against.
    prepareControlPlane: (controlPlane) => controlPlane.tenants.updateTenant('acme', { plan: 'free' }).then(() => {}),
  });
  browser = await launchChromium();
  developer = await platform.token('acme', 'customer', ['developer', 'customer']);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
});

/** A new page with `token` pasted; in a context of its own unless one is given (pages of a context share storage). */
async function openExplorer(
  token: string,
  width = 1440,
  context?: BrowserContext,
): Promise<{ page: Page } & ReturnType<typeof watchPage>> {
  const page = await (context ?? browser).newPage();
  await page.setViewportSize({ width, height: 900 });
  const watched = watchPage(page);
  await page.goto(`${platform.gateway.url}/explorer`);
  await page.fill('#token', token);
  await page.click('#use-token');
  await page.waitForSelector(`${QUERY_EDITOR} .monaco-editor`);
  return { page, ...watched };
}

/** Runs the editor's operation and answers the /graphql request the page sent for it. */
async function run(page: Page): Promise<Request> {
  const sent = page.waitForRequest(
    (request) => request.url().endsWith('/graphql') && !request.postData()?.includes('IntrospectionQuery'),
  );
  await page.click('.graphiql-execute-button');
  const request = await sent;
  await request.response();
  return request;
}

async function setHeaders(page: Page, headers: Record<string, string>): Promise<void> {
  await page.click('button[data-name="headers"]');
  await setEditorText(page, HEADER_EDITOR, JSON.stringify(headers));
}

it('honours the Headers tab, and shows the headers it did not send or the gateway refused', async () => {
  const { page, problems, refusals } = await openExplorer(developer);
  await setEditorText(page, QUERY_EDITOR, PRODUCTS);

  await setHeaders(page, { 'X-Request-Id': 'explorer-headers-0001' });
  const honoured = await run(page);
  expect(honoured.headers()['x-request-id']).toBe('explorer-headers-0001');
  // The gateway took it as the request id and echoed it; the page shows it.
  await page.waitForSelector('#request-id:has-text("explorer-headers-0001")');
  expect(await page.$('#header-notice')).toBeNull();
  await page.waitForSelector(`.graphiql-response .view-lines:has-text("edges")`);

  await setHeaders(page, { 'X-Api-Key': 'tg_notakey.secret', Cookie: 'session=1' });
  const refused = await run(page);
  expect(refused.headers()['x-api-key']).toBe('tg_notakey.secret');
  expect(refused.headers().cookie).toBeUndefined();
  const notice = await page.waitForSelector('#header-notice:has-text("X-Api-Key")');
  const text = await notice.innerText();
  expect(text).toContain('Cookie was not sent: browsers do not let a page set it.');
  expect(text).toContain('The gateway refused the request (401 UNAUTHENTICATED');
  expect(text).toContain('Remove X-Api-Key from the Headers tab.');
  expect(await editorText(page, '.graphiql-response')).toContain('UNAUTHENTICATED');
  // Shows: the notice under the cost bar naming the Cookie header (not sent) and X-Api-Key (401 from the gateway).
  await screenshot(page, 'headers-refused.png');

  await setHeaders(page, { 'X-Tenant-Id': 'globex', Authorization: 'Bearer other' });
  const forged = await run(page);
  expect(forged.headers()['x-tenant-id']).toBe('globex');
  expect(forged.headers().authorization).toBe(`Bearer ${developer}`);
  const mismatch = await page.waitForSelector('#header-notice:has-text("X-Tenant-Id")');
  expect(await mismatch.innerText()).toMatch(
    /Authorization was not sent: the explorer sends your token[\s\S]*403 FORBIDDEN[\s\S]*another tenant than your token's \(acme\)/,
  );
  expect(problems).toEqual([]);
  expect(refusals).toEqual(['401 /graphql', '403 /graphql']);
  await page.close();
}, 90_000);

const PLAN_QUERY =
  '{ products(first: 2) { edges { node { name inStock reviews(first: 1) { edges { node { rating } } } } } } }';
const showPlan = '[aria-label="Show Query plan"]';
const hidePlan = '[aria-label="Hide Query plan"]';

/** The plan in the panel, waited for without ever reopening the panel. */
async function shownPlan(page: Page): Promise<string> {
  return (await page.waitForSelector('#query-plan')).innerText();
}

function expectFullPlan(text: string): void {
  expect(text).toMatch(/^QueryPlan \{/);
  expect(text).toContain('Fetch(service: "products")');
  expect(text).toContain('Fetch(service: "inventory")');
  expect(text).toContain('Fetch(service: "reviews")');
}

// The panel once mounted empty (GraphiQL forgot the visible plugin whenever the page re-rendered, its pane stayed
// open): each test below opens it once and must see the plan, after the Headers-tab test ran queries on this gateway
// as in any other order.
it("shows the gateway's query plan for the document in its panel, and follows edits while it is open", async () => {
  const { page, problems, refusals } = await openExplorer(developer);
  await setEditorText(page, QUERY_EDITOR, PLAN_QUERY);
  await page.click(showPlan);
  expectFullPlan(await shownPlan(page));
  // Shows: the "Query plan" sidebar panel with the products → inventory/reviews fetches, nothing executed.
  await screenshot(page, 'query-plan.png');

  // Editing with the panel open re-renders the page: the panel stays, and its plan follows the new document.
  await setEditorText(page, QUERY_EDITOR, PRODUCTS);
  const products = await page.waitForSelector('#query-plan:not(:has-text("inventory"))');
  expect(await products.innerText()).toMatch(/^QueryPlan \{\s*Fetch\(service: "products"\)/);
  expect(await products.innerText()).not.toContain('reviews');
  expect(await page.$(hidePlan)).not.toBeNull();
  expect(problems).toEqual([]);
  expect(refusals).toEqual([]);
  await page.close();
}, 60_000);

it('shows the plan at once on a new page after another page ran a query, and keeps the panel a page left open', async () => {
  // One browser context: its pages share localStorage, where GraphiQL keeps which panel was open.
  const context = await browser.newContext();
  const first = await openExplorer(developer, 1440, context);
  await setEditorText(first.page, QUERY_EDITOR, PLAN_QUERY);
  await run(first.page);
  await first.page.waitForSelector('.graphiql-response .view-lines:has-text("edges")');
  await first.page.click(showPlan);
  expectFullPlan(await shownPlan(first.page));
  await first.page.close();

  // A new page of that context opens with the panel open and the document the first page left (GraphiQL restores
  // its saved tab): no click, no typing, and that document's plan shows there; then the plan of what is typed.
  const second = await openExplorer(developer, 1440, context);
  expectFullPlan(await shownPlan(second.page));
  expect(await second.page.$(hidePlan)).not.toBeNull();
  await setEditorText(second.page, QUERY_EDITOR, PRODUCTS);
  const typed = await second.page.waitForSelector('#query-plan:not(:has-text("inventory"))');
  expect(await typed.innerText()).toMatch(/^QueryPlan \{\s*Fetch\(service: "products"\)/);
  await context.close();

  // A new page elsewhere (nothing stored) after those queries: opening the panel once shows the plan.
  const third = await openExplorer(developer);
  await setEditorText(third.page, QUERY_EDITOR, PLAN_QUERY);
  await third.page.click(showPlan);
  expectFullPlan(await shownPlan(third.page));
  await third.page.close();
  for (const watched of [first, second, third]) {
    expect(watched.problems).toEqual([]);
    expect(watched.refusals).toEqual([]);
  }
}, 90_000);

it("View as shows and runs the graph as the persona: a customer's mutations, none for a developer", async () => {
  const { page, problems, refusals } = await openExplorer(developer);
  await page.check('#view-as input[value="customer"]');
  await page.waitForSelector(`${QUERY_EDITOR} .monaco-editor`);
  await page.click('[aria-label="Show Documentation Explorer"]');
  await page.click('.graphiql-doc-explorer a:has-text("Mutation")');
  await page.waitForSelector('.graphiql-doc-explorer:has-text("addReview")');
  expect(await page.textContent('.graphiql-doc-explorer')).toContain('deleteReview');
  // Shows: View as "customer" ticked, the documentation explorer listing the customer's mutations.
  await screenshot(page, 'view-as-customer.png');

  // Run as the customer persona: the review is added under the customer's rights.
  const productId = demoProductId('acme', 'HOODIE-001');
  await setEditorText(
    page,
    QUERY_EDITOR,
    `mutation { addReview(input: { productId: "${productId}", rating: 4, body: "From the explorer" }) { rating } }`,
  );
  await run(page);
  await page.waitForSelector('.graphiql-response .view-lines:has-text("rating")');
  expect(JSON.parse(await editorText(page, '.graphiql-response'))).toMatchObject({
    data: { addReview: { rating: 4 } },
  });

  expect(refusals).toEqual([]);

  await page.uncheck('#view-as input[value="customer"]');
  await page.check('#view-as input[value="developer"]');
  await page.waitForSelector(`${QUERY_EDITOR} .monaco-editor`);
  // The mutation still in the editor is priced for the developer persona, which has no mutation at all.
  await page.waitForSelector('.tollgate-estimate-error:has-text("has no mutation type")');
  // The documentation explorer opened above stays open across the persona switch (GraphiQL keeps the open panel and
  // rebuilds it on the schema it introspects for the new persona), now on the developer persona's root types.
  await page.waitForSelector('[aria-label="Hide Documentation Explorer"]');
  await page.waitForSelector('.graphiql-doc-explorer a:has-text("Query")');
  expect(await page.textContent('.graphiql-doc-explorer')).not.toContain('Mutation');
  expect(problems).toEqual([]);
  expect(new Set(refusals)).toEqual(new Set(['400 /explorer/estimate']));
  await page.close();
}, 90_000);

/** A document whose price depends on its variables: `first` is the slicing argument of both lists. */
const SIZED =
  'query Sized($n: Int!) { products(first: $n) { edges { node { name reviews(first: $n) { edges { node { rating } } } } } } }';
const SIZED_VARIABLES = '{"n": 7}';
const VARIABLE_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';

/** The editor's text with white space collapsed (Monaco renders spaces as no-break spaces and may wrap lines). */
async function shownText(page: Page, container: string): Promise<string> {
  return (await editorText(page, container)).replace(/\s+/g, ' ').trim();
}

/** What the estimate endpoint answers for `token` as `persona` — the figure the page must show for the document. */
async function estimateOf(token: string, persona: string[], variables: unknown): Promise<number> {
  const response = await fetch(`${platform.gateway.url}/explorer/estimate`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(persona.length > 0 ? { 'Tollgate-Preview-Roles': persona.join(',') } : {}),
    },
    body: JSON.stringify({ query: SIZED, variables }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { requestedQueryCost: number }).requestedQueryCost;
}

/** The page shows one tab, whose editors hold SIZED, its variables and `headers`, and prices it with them. */
async function expectSizedDocument(page: Page, estimate: number, headers?: string): Promise<void> {
  await page.waitForSelector(`[data-testid="estimated-cost"]:text-is("${estimate}")`);
  expect(await page.locator('.graphiql-tab').count()).toBe(1);
  expect(await shownText(page, QUERY_EDITOR)).toBe(SIZED);
  await page.click('button[data-name="variables"]');
  expect(await shownText(page, VARIABLE_EDITOR)).toBe(SIZED_VARIABLES);
  if (headers !== undefined) {
    await page.click('button[data-name="headers"]');
    expect(await shownText(page, HEADER_EDITOR)).toBe(headers);
  }
}

// Once, GraphiQL was remounted for each token and persona: the new instance got the document but not the variables
// or headers, opened a second tab when its saved tabs lagged behind the editors, and the estimate kept pricing the
// variables the editor no longer showed.
it('keeps the document, variables and headers in one tab across a persona or token change, and prices them', async () => {
  const { page, problems, refusals } = await openExplorer(developer);
  const withVariables = await estimateOf(developer, ['customer'], { n: 7 });
  // The variables change the price: a page that priced without them would show another figure.
  expect(withVariables).not.toBe(await estimateOf(developer, ['customer'], { n: 2 }));

  await setEditorText(page, QUERY_EDITOR, SIZED);
  // Without its variables the document is not priced: the page names what is missing and asks the gateway nothing
  // (it would answer 400).
  await page.waitForSelector('.tollgate-estimate-error:has-text("set $n in Variables")');
  await page.click('button[data-name="variables"]');
  await setEditorText(page, VARIABLE_EDITOR, SIZED_VARIABLES);
  const headers = { 'X-Request-Id': 'explorer-vars-0001' };
  await setHeaders(page, headers);
  // At once, as a person would: nothing waits for GraphiQL to save its tabs first.
  await page.check('#view-as input[value="customer"]');
  await expectSizedDocument(page, withVariables, JSON.stringify(headers));
  // Shows: View as "customer" ticked, the one tab "Sized" (the typed line, scrolled to its end), the Headers tab
  // still holding the request id, and the estimate for n = 7 in the cost bar.
  await screenshot(page, 'persona-keeps-variables.png');

  // Runs with them, as the persona, the Headers tab's request id included.
  const sent = await run(page);
  expect(JSON.parse(sent.postData() ?? '{}')).toMatchObject({ variables: { n: 7 }, operationName: 'Sized' });
  expect(sent.headers()['x-request-id']).toBe('explorer-vars-0001');
  expect(sent.headers()['tollgate-preview-roles']).toBe('customer');
  await page.waitForSelector('.graphiql-response .view-lines:has-text("edges")');

  // A new token (same user, signed again): everything stays, priced as the token itself (no persona).
  const again = await platform.token('acme', 'customer', ['developer', 'customer']);
  expect(again).not.toBe(developer);
  await page.fill('#token', again);
  await page.click('#use-token');
  await expectSizedDocument(page, await estimateOf(again, [], { n: 7 }), JSON.stringify(headers));
  expect(problems).toEqual([]);
  expect(refusals).toEqual([]);
  await page.close();
}, 90_000);

it('restores the saved document on a new page of the same browser context, in one tab', async () => {
  const context = await browser.newContext();
  const first = await openExplorer(developer, 1440, context);
  await setEditorText(first.page, QUERY_EDITOR, SIZED);
  await first.page.click('button[data-name="variables"]');
  await setEditorText(first.page, VARIABLE_EDITOR, SIZED_VARIABLES);
  // What GraphiQL saved (it writes a moment after the last edit): the tab and the variables.
  // (A function, not a string: the page's CSP refuses eval.)
  await first.page.waitForFunction((variables) => {
    const { localStorage } = globalThis as unknown as { localStorage: { getItem(key: string): string | null } };
    const tabs = localStorage.getItem('graphiql:tabState') ?? '';
    return localStorage.getItem('graphiql:variables') === variables && tabs.includes(JSON.stringify(variables));
  }, SIZED_VARIABLES);
  await first.page.close();

  const second = await openExplorer(developer, 1440, context);
  await expectSizedDocument(second.page, await estimateOf(developer, [], { n: 7 }));
  // Shows: a new page of the same context with the one tab it restored and that tab's estimate.
  await screenshot(second.page, 'new-page-restored.png');
  await context.close();

  // A page of another context has nothing saved: one tab, the explorer's empty document, nothing estimated.
  const third = await openExplorer(developer);
  await third.page.waitForSelector('#cost:has-text("no operation yet")');
  expect(await third.page.locator('.graphiql-tab').count()).toBe(1);
  expect(await shownText(third.page, QUERY_EDITOR)).toMatch(/^# Write an operation/);
  await third.page.close();
  for (const watched of [first, second, third]) {
    expect(watched.problems).toEqual([]);
    expect(watched.refusals).toEqual([]);
  }
}, 90_000);

it("shows the token's expiry, counting down, and keeps the token for the tab only when asked", async () => {
  const soon = await platform.issuer.sign({
    tenant: 'acme',
    sub: 'dev-1',
    roles: ['developer'],
    exp: Math.floor(Date.now() / 1000) + 600,
  });
  const { page } = await openExplorer(soon);
  const first = await page.textContent('#expiry');
  // Ten minutes from the signature: under ten are left, minutes and seconds shown.
  expect(first).toMatch(/^expires in [1-9]m \d\ds$/);
  await page.waitForSelector(`#expiry:not(:text-is("${first}"))`, { timeout: 5_000 });
  expect(await page.getAttribute('#expiry', 'class')).toBeNull();

  // Not kept: a reload forgets it.
  await page.reload();
  await page.waitForSelector('#token-help');
  expect(await page.inputValue('#token')).toBe('');
  // Kept for the tab: a reload brings it back, with its expiry.
  await page.fill('#token', soon);
  await page.check('#keep-token');
  await page.click('#use-token');
  await page.reload();
  await page.waitForSelector('#identity');
  expect(await page.textContent('#expiry')).toMatch(/^expires in \d+m \d\ds$/);
  // Shows: the token bar with "keep for this tab" ticked after a reload, tenant, roles and the countdown.
  await screenshot(page, 'token-kept-expiry.png');
  await page.uncheck('#keep-token');
  await page.reload();
  await page.waitForSelector('#token-help');
  await page.close();

  const expired = await platform.issuer.sign({
    tenant: 'acme',
    sub: 'dev-1',
    roles: ['developer'],
    iat: Math.floor(Date.now() / 1000) - 7200,
    exp: Math.floor(Date.now() / 1000) - 60,
  });
  const late = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await late.goto(`${platform.gateway.url}/explorer`);
  await late.fill('#token', expired);
  await late.click('#use-token');
  await late.waitForSelector('#expiry.tollgate-expired');
  expect(await late.textContent('#expiry')).toBe('expired');
  // Shows: an expired token marked "expired" in red in the token bar.
  await screenshot(late, 'token-expired.png');
  await late.close();
}, 60_000);

it('shows the estimate before running, colours a document over the plan maximum, and fits at 1440 px', async () => {
  const { page, problems, refusals } = await openExplorer(developer, 1440);
  let operationsRun = 0;
  page.on('request', (request) => {
    if (request.url().endsWith('/graphql') && !request.postData()?.includes('IntrospectionQuery')) operationsRun += 1;
  });
  await setEditorText(page, QUERY_EDITOR, PRODUCTS);
  await page.waitForSelector('[data-testid="estimated-cost"]');
  const cheap = Number(await page.textContent('[data-testid="estimated-cost"]'));
  expect(cheap).toBeGreaterThan(0);
  expect(await page.textContent('[data-testid="maximum-cost"]')).toBe('500');
  expect(await page.getAttribute('#estimate', 'class')).toBeNull();
  expect(await page.textContent('[data-testid="requested-cost"]')).toBe('—');

  await setEditorText(page, QUERY_EDITOR, EXPENSIVE);
  await page.waitForSelector('#estimate.tollgate-over-max');
  expect(Number(await page.textContent('[data-testid="estimated-cost"]'))).toBeGreaterThan(500);
  expect(await page.textContent('#estimate')).toContain('over the plan’s maximum');
  const background = await page
    .locator('#estimate')
    .evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).backgroundColor);
  expect(background).toBe('rgb(176, 0, 32)');
  expect(operationsRun).toBe(0);

  // Fits: nothing of the bars is wider than the window, and the cost panel ends inside it.
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1440);
  const box = await page.locator('#cost').boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(1440);
  // Shows: at 1440 px, the estimate over the free plan's maximum of 500 in red, before anything ran.
  await screenshot(page, 'estimate-over-max.png');
  expect(problems).toEqual([]);
  expect(refusals).toEqual([]);
  await page.close();
}, 60_000);
