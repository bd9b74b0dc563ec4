/**
 * The gateway's listener and its deadline contract with subgraphs, on a real gateway over the fixture subgraphs:
 * a client that trickles its headers is closed within the configured headers timeout (Node's defaults kept it
 * 65–88 s), an idle keep-alive connection outlives that timeout, and every subgraph fetch carries a deadline
 * inside its signed token that ends before the gateway's fetch timeout.
 */
import { connect, type Socket } from 'node:net';
import { TEST_SUBGRAPH_TIMEOUT_MS, startTestPlatform, type TestPlatform } from './testing/platform';
import { subgraphDeadlineMs } from './upstream/deadline';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({
    httpServer: {
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      keepAliveTimeoutMs: 5_000,
      maxRequestsPerSocket: 3,
      socketIdleTimeoutMs: 20_000,
    },
  });
});

afterAll(() => platform.stop());

function open(): { socket: Socket; received: () => string; closed: Promise<number> } {
  const { port } = new URL(platform.gateway.url);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString()));
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  return { socket, received: () => text, closed };
}

test('a client that sends a header byte every 500 ms is closed within the configured headers timeout', async () => {
  const { socket, received, closed } = open();
  socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => socket.write('X'), 500);
  const closedAfter = await closed;
  clearInterval(trickle);
  // Configured: 1 s, checked every 250 ms.
  expect(closedAfter).toBeGreaterThanOrEqual(900);
  expect(closedAfter).toBeLessThan(3_000);
  expect(received()).toMatch(/^HTTP\/1\.1 408/);
});

test('an idle keep-alive connection is not cut by the headers timeout, and a connection carries a bounded number of requests', async () => {
  const { socket, received } = open();
  const get = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  socket.write(get);
  // Idle for longer than the headers timeout, shorter than keep-alive.
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  socket.write(get);
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.write(get);
  const started = Date.now();
  while ((received().match(/HTTP\/1\.1/g) ?? []).length < 3 && Date.now() - started < 5_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  socket.destroy();
  const statuses = received().match(/HTTP\/1\.1 \d{3}/g);
  expect(statuses).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
  // The third request was the socket's last: the gateway said so and closed it.
  expect(received()).toMatch(/connection: close/i);
});

test('every subgraph fetch carries a signed deadline that ends before the gateway stops waiting', async () => {
  platform.subgraphs.accounts.requests.length = 0;
  const res = await platform.graphql({ query: '{ whoami { tenant } }' });
  expect(res.status).toBe(200);
  const [request] = platform.subgraphs.accounts.requests;
  const claims = request?.claims;
  expect(claims?.dl).toBe((claims?.iat ?? 0) + subgraphDeadlineMs(TEST_SUBGRAPH_TIMEOUT_MS));
  expect(subgraphDeadlineMs(TEST_SUBGRAPH_TIMEOUT_MS)).toBeLessThan(TEST_SUBGRAPH_TIMEOUT_MS);
});

test('the margin left for the answer to travel back is a tenth of the timeout, 20–500 ms', () => {
  expect(subgraphDeadlineMs(400)).toBe(360);
  expect(subgraphDeadlineMs(5_000)).toBe(4_500);
  expect(subgraphDeadlineMs(60_000)).toBe(59_500);
  expect(subgraphDeadlineMs(100)).toBe(80);
  expect(subgraphDeadlineMs(10)).toBe(1);
});
