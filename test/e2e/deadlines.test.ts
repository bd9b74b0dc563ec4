/**
 * A subgraph whose MongoDB stops answering, end to end: the real gateway and the four real subgraphs, the products
 * subgraph reaching FerretDB through a proxy that blackholes it. The client gets a coded error for the products
 * fields within the gateway's subgraph timeout (the subgraph answered SERVICE_UNAVAILABLE at its deadline, before
 * the gateway gave up), the other subgraphs' fields are served, and everything recovers once the proxy forwards.
 */
import { startBlackholeProxy, type BlackholeProxy } from '../support/blackhole-proxy';
import { SUBGRAPH_TIMEOUT_MS, startRealPlatform, type RealPlatform } from './platform';

let proxy: BlackholeProxy;
let platform: RealPlatform;
let token: string;

const QUERY = '{ me { name } product(id: "aaaaaaaaaaaaaaaaaaaaaaaa") { name } }';
/** Generous for a loaded 2-core machine; the point is seconds, not the 30–48 s a blackholed database held before. */
const SLACK_MS = 1_500;

beforeAll(async () => {
  const mongoUri = process.env.TEST_MONGODB_URI ?? '';
  const { hostname, port } = new URL(mongoUri);
  proxy = await startBlackholeProxy({ host: hostname, port: Number(port) });
  platform = await startRealPlatform({
    mongoUriFor: (name) => (name === 'products' ? `mongodb://${proxy.address}/` : mongoUri),
  });
  token = await platform.token('acme', 'admin');
}, 60_000);

afterAll(async () => {
  proxy.forward();
  await platform.stop();
  await proxy.close();
});

test('a blackholed subgraph database: coded error within the timeout, other fields served, recovery by itself', async () => {
  const healthy = await platform.graphql(token, QUERY);
  expect(healthy.body.data).toEqual({ me: { name: expect.any(String) }, product: null });
  expect(healthy.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);

  proxy.blackhole();
  try {
    const started = Date.now();
    const answers = await Promise.all([0, 1, 2].map(() => platform.graphql(token, QUERY)));
    const elapsedMs = Date.now() - started;
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.data).toEqual({ me: { name: expect.any(String) }, product: null });
      // The subgraph's SERVICE_UNAVAILABLE, masked as every subgraph-side failure is: not the gateway's timeout.
      expect(answer.body.errors?.map((e) => e.extensions?.code)).toEqual(['DOWNSTREAM_SERVICE_ERROR']);
      expect(answer.text).not.toMatch(/mongo|127\.0\.0\.1|products|timed out/i);
    }
    expect(elapsedMs).toBeLessThan(SUBGRAPH_TIMEOUT_MS + SLACK_MS);
  } finally {
    proxy.forward();
  }

  const started = Date.now();
  let after = await platform.graphql(token, QUERY);
  while (after.body.errors?.[0]?.extensions?.code !== 'NOT_FOUND' && Date.now() - started < 15_000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    after = await platform.graphql(token, QUERY);
  }
  expect(after.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
}, 40_000);
