/**
 * A sick subgraph as clients see it, through the real gateway and real subgraph HTTP servers that can be told to
 * hang or answer 500: which fields the failure left null (error paths), and the subgraph's circuit breaker
 * (open after the threshold, fail fast with zero requests sent, one half-open probe, reopen or close).
 */
import { startTestPlatform, type TestPlatform } from '../testing/platform';

const PRODUCTS_WITH_STOCK = { query: 'query Stock { products { id name inStock } }' };
const THRESHOLD = 3;
// Long enough that the requests made while the breaker is open all fall inside it on a loaded machine.
const COOL_DOWN_MS = 2_000;
const TIMEOUT_MS = 1_000;

/** What a client must never see in any error body. */
function expectNoInternals(platform: TestPlatform, text: string): void {
  for (const subgraph of Object.values(platform.subgraphs)) expect(text).not.toContain(subgraph.url);
  expect(text).not.toMatch(
    /127\.0\.0\.1|10\.1\.2\.3|mongodb|serviceName|stacktrace|exception|"response"|ECONNREFUSED|inventory|accounts/,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const breakerLogs = (platform: TestPlatform) =>
  platform.logs
    .filter((line) => line.component === 'circuit-breaker')
    .map(({ level, subgraph, state, from }) => ({ level, subgraph, state, from }));

describe('a failing subgraph', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform({
      subgraphTimeoutMs: TIMEOUT_MS,
      subgraphBreaker: { failureThreshold: THRESHOLD, coolDownMs: COOL_DOWN_MS },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('has its circuit opened after the threshold, is not called while open, is probed once after the cool-down, and is closed by a successful probe', async () => {
    const { inventory, products } = platform.subgraphs;
    inventory.mode = 'http500';
    const before = inventory.requests.length;
    for (let i = 0; i < THRESHOLD; i++) {
      expect(platform.gateway.subgraphBreakerStates().inventory ?? 'closed').toBe('closed');
      const res = await platform.graphql(PRODUCTS_WITH_STOCK);
      expect(res.body.errors?.map((e) => e.extensions)).toEqual([
        { code: 'DOWNSTREAM_SERVICE_ERROR' },
        { code: 'DOWNSTREAM_SERVICE_ERROR' },
      ]);
    }
    expect(inventory.requests.length - before).toBe(THRESHOLD);
    expect(platform.gateway.subgraphBreakerStates().inventory).toBe('open');
    expect(breakerLogs(platform)).toEqual([{ level: 'warn', subgraph: 'inventory', state: 'open', from: 'closed' }]);

    // Open: inventory gets nothing, the rest of the operation still answers.
    const productRequests = products.requests.length;
    for (let i = 0; i < 5; i++) {
      const res = await platform.graphql(PRODUCTS_WITH_STOCK);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({
        products: [
          { id: 'p1', name: 'Kettle', inStock: null },
          { id: 'p2', name: 'Teapot', inStock: null },
        ],
      });
      expect(res.body.errors).toEqual([
        {
          message: 'A downstream service failed',
          path: ['products', 0, 'inStock'],
          extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' },
        },
        {
          message: 'A downstream service failed',
          path: ['products', 1, 'inStock'],
          extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' },
        },
      ]);
      expectNoInternals(platform, res.text);
    }
    expect(inventory.requests.length - before).toBe(THRESHOLD);
    expect(products.requests.length - productRequests).toBe(5);

    // Half-open: the first request after the cool-down is the one probe; the subgraph hangs, so while the probe
    // waits, another request fails fast without reaching it.
    await sleep(COOL_DOWN_MS);
    inventory.mode = 'hang';
    const probe = platform.graphql(PRODUCTS_WITH_STOCK);
    await until(() => inventory.requests.length - before === THRESHOLD + 1, 'the probe to reach the subgraph');
    expect(platform.gateway.subgraphBreakerStates().inventory).toBe('half-open');
    const meanwhile = await platform.graphql(PRODUCTS_WITH_STOCK);
    expect(meanwhile.body.errors?.[0]?.extensions).toEqual({
      code: 'DOWNSTREAM_SERVICE_ERROR',
      reason: 'CIRCUIT_OPEN',
    });
    // The probe times out: the breaker opens again for a full cool-down.
    const probed = await probe;
    expect(probed.body.errors?.map((e) => e.extensions)).toEqual([
      { code: 'SUBGRAPH_TIMEOUT' },
      { code: 'SUBGRAPH_TIMEOUT' },
    ]);
    expect(platform.gateway.subgraphBreakerStates().inventory).toBe('open');
    expect(inventory.requests.length - before).toBe(THRESHOLD + 1);

    // Recovered: the next probe succeeds and closes the breaker; traffic flows again.
    inventory.mode = 'ok';
    await sleep(COOL_DOWN_MS);
    const recovered = await platform.graphql(PRODUCTS_WITH_STOCK);
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data).toEqual({
      products: [
        { id: 'p1', name: 'Kettle', inStock: true },
        { id: 'p2', name: 'Teapot', inStock: false },
      ],
    });
    expect(platform.gateway.subgraphBreakerStates().inventory).toBe('closed');
    expect((await platform.graphql(PRODUCTS_WITH_STOCK)).body.errors).toBeUndefined();
    expect(inventory.requests.length - before).toBe(THRESHOLD + 3);
    expect(breakerLogs(platform)).toEqual([
      { level: 'warn', subgraph: 'inventory', state: 'open', from: 'closed' },
      { level: 'info', subgraph: 'inventory', state: 'half-open', from: 'open' },
      { level: 'warn', subgraph: 'inventory', state: 'open', from: 'half-open' },
      { level: 'info', subgraph: 'inventory', state: 'half-open', from: 'open' },
      { level: 'info', subgraph: 'inventory', state: 'closed', from: 'half-open' },
    ]);
  });

  it('stops costing requests the full timeout once its circuit is open', async () => {
    const { inventory } = platform.subgraphs;
    inventory.mode = 'hang';
    try {
      // One principal each: identical queries of one caller in flight together share one fetch (dedupe.ts), which
      // the breaker counts once.
      const tokens = await Promise.all(
        Array.from({ length: THRESHOLD }, (_, i) => platform.issuer.sign({ sub: `u${i}` })),
      );
      const slow = await Promise.all(tokens.map((token) => platform.graphql(PRODUCTS_WITH_STOCK, { token })));
      for (const res of slow) expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'SUBGRAPH_TIMEOUT' });
      expect(platform.gateway.subgraphBreakerStates().inventory).toBe('open');
      const sent = inventory.requests.length;
      const started = Date.now();
      const fast = await platform.graphql(PRODUCTS_WITH_STOCK);
      // Generous: the point is that it did not wait for the 1 s timeout, not how fast it was.
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 0.8);
      expect(fast.body.errors?.[0]?.extensions).toEqual({ code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' });
      expect(inventory.requests.length).toBe(sent);
    } finally {
      inventory.mode = 'ok';
      await sleep(COOL_DOWN_MS);
      await platform.graphql(PRODUCTS_WITH_STOCK);
    }
    expect(platform.gateway.subgraphBreakerStates().inventory).toBe('closed');
  });

  it('names the root fields a failed root fetch left null, and answers the rest', async () => {
    const { accounts } = platform.subgraphs;
    accounts.mode = 'http500';
    try {
      const res = await platform.graphql({ query: '{ first: missing leak products { id } }' });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ first: null, leak: null, products: [{ id: 'p1' }, { id: 'p2' }] });
      expect(res.body.errors).toEqual([
        { message: 'A downstream service failed', path: ['first'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } },
        { message: 'A downstream service failed', path: ['leak'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } },
      ]);
      expectNoInternals(platform, res.text);
    } finally {
      accounts.mode = 'ok';
    }
    // One failure, below the threshold; the next success starts the count again.
    await platform.graphql({ query: '{ whoami { tenant } }' });
    expect(platform.gateway.subgraphBreakerStates().accounts).toBe('closed');
  });

  it('does not count errors a subgraph answered (a crash, NOT_FOUND) against its circuit, and masks the crash as DOWNSTREAM_SERVICE_ERROR', async () => {
    const { accounts } = platform.subgraphs;
    const sent = accounts.requests.length;
    for (let i = 0; i < THRESHOLD * 2; i++) {
      const res = await platform.graphql({ query: '{ crash missing }' });
      expect(res.body.errors).toEqual([
        { message: 'A downstream service failed', path: ['crash'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } },
        { message: 'No such thing', path: ['missing'], extensions: { code: 'NOT_FOUND' } },
      ]);
      expectNoInternals(platform, res.text);
    }
    expect(accounts.requests.length - sent).toBe(THRESHOLD * 2);
    expect(platform.gateway.subgraphBreakerStates().accounts).toBe('closed');
  });
});

describe('a stopped subgraph', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform({ subgraphBreaker: { failureThreshold: 2, coolDownMs: 60_000 } });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('opens its circuit on refused connections, and the operator health check still checks it for real', async () => {
    await platform.subgraphs.inventory.stop();
    for (let i = 0; i < 2; i++) {
      const res = await platform.graphql(PRODUCTS_WITH_STOCK);
      expect(res.body.errors?.map((e) => [e.path, e.extensions])).toEqual([
        [['products', 0, 'inStock'], { code: 'DOWNSTREAM_SERVICE_ERROR' }],
        [['products', 1, 'inStock'], { code: 'DOWNSTREAM_SERVICE_ERROR' }],
      ]);
    }
    expect(platform.gateway.subgraphBreakerStates().inventory).toBe('open');
    const res = await platform.graphql(PRODUCTS_WITH_STOCK);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' });
    expect(res.body.data?.products).toHaveLength(2);
    // Health checks bypass the breaker: the operator's check reports what the subgraph does, not what the breaker
    // remembers; readiness does not depend on subgraphs at all (health.ts) and says nothing of them.
    expect(await platform.gateway.subgraphHealth()).toEqual({
      subgraphs: expect.objectContaining({ inventory: 'down' }),
      breakers: expect.objectContaining({ inventory: 'open' }),
    });
    const ready = await fetch(`${platform.gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect(platform.gateway.subgraphBreakerStates().inventory).toBe('open');
  });
});
