/**
 * Deadlines against real components: the products subgraph over HTTP, on the embedded FerretDB reached through a
 * TCP proxy that can blackhole it (connections accepted, nothing forwarded).
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { userIdFor } from '../../common/ids';
import { INTERNAL_TOKEN_HEADER, deriveSubgraphKey, type InternalClaims } from '../../common/internal-token';
import { createLogger } from '../../common/logger';
import { startBlackholeProxy, type BlackholeProxy } from '../../test/support/blackhole-proxy';
import { products } from '../products';
import { startSubgraph, type RunningSubgraph } from './server';
import {
  countCommands,
  mintTestToken,
  testMongoUri,
  uniqueDbName,
  type Caller,
  type GraphQLResponseBody,
} from './testing';

const TENANT = `dl-${randomBytes(3).toString('hex')}`;
const ADMIN: Caller = { tenant: TENANT, principal: userIdFor(TENANT, 'admin@dl.test'), roles: ['admin'] };
const DEADLINE_MS = 800;
/** What answering may add to the deadline on a loaded 2-core machine: generous, and still far below 30–48 s. */
const SLACK_MS = 1_200;

const PRODUCTS_QUERY = '{ products(first: 5) { edges { node { sku } } } }';
const CREATE = 'mutation Create($input: CreateProductInput!) { createProduct(input: $input) { id sku } }';

let proxy: BlackholeProxy;
let subgraph: RunningSubgraph;
const key = deriveSubgraphKey(randomBytes(32), 'products');
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  const { hostname, port } = new URL(testMongoUri());
  proxy = await startBlackholeProxy({ host: hostname, port: Number(port) });
  subgraph = await startSubgraph(products, {
    port: 0,
    mongoUri: `mongodb://${proxy.address}/`,
    dbName: uniqueDbName('deadline'),
    internalKey: key,
    logger: createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
    monitorCommands: true,
    database: { serverSelectionTimeoutMs: 1_000, connectTimeoutMs: 1_000, socketTimeoutMs: 2_000 },
    http: {
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      keepAliveTimeoutMs: 5_000,
      maxRequestsPerSocket: 100,
      socketIdleTimeoutMs: 10_000,
    },
    maxRequestDeadlineMs: 5_000,
  });
});

afterAll(async () => {
  proxy.forward();
  await subgraph.connection.dropDatabase().catch(() => undefined);
  await subgraph.stop();
  await proxy.close();
});

interface Timed {
  status: number;
  body: GraphQLResponseBody;
  text: string;
  elapsedMs: number;
}

async function post(
  query: string,
  variables: Record<string, unknown> | undefined,
  claims: Partial<InternalClaims>,
): Promise<Timed> {
  const token = mintTestToken(key, 'products', query, ADMIN, claims);
  const started = Date.now();
  const res = await fetch(subgraph.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: token },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as GraphQLResponseBody, text, elapsedMs: Date.now() - started };
}

const withDeadline = (ms = DEADLINE_MS): Partial<InternalClaims> => ({ dl: Date.now() + ms });
const skuCount = (sku: string) =>
  subgraph.connection.db!.collection('products').countDocuments({ tenantId: TENANT, sku });

function expectUnavailable(answer: Timed): void {
  expect(answer.body.errors).toEqual([
    expect.objectContaining({
      message: 'Service temporarily unavailable',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    }),
  ]);
  // No driver text: no host, port, "Mongo…" class or "timed out" message.
  expect(answer.text).not.toMatch(/mongo|127\.0\.0\.1|timed out|ECONN|socket/i);
}

test('a healthy database answers, and reads carry maxTimeMS from the time the request has left', async () => {
  const { result, commands } = await (async () => {
    const started: { commandName: string; command: Record<string, unknown> }[] = [];
    const client = subgraph.connection.getClient();
    const listener = (event: { commandName: string; command: Record<string, unknown> }) => started.push(event);
    client.on('commandStarted', listener);
    try {
      return { result: await post(PRODUCTS_QUERY, undefined, withDeadline(3_000)), commands: started };
    } finally {
      client.off('commandStarted', listener);
    }
  })();
  expect(result.body).toEqual({ data: { products: { edges: [] } } });
  const find = commands.find((c) => c.commandName === 'find');
  expect(find?.command.maxTimeMS).toEqual(expect.any(Number));
  expect(find?.command.maxTimeMS as number).toBeGreaterThan(0);
  expect(find?.command.maxTimeMS as number).toBeLessThanOrEqual(3_000);
});

test('a mutation whose deadline passed before it arrived is not started: 503, no insert, nothing written', async () => {
  const sku = `LATE-${randomBytes(3).toString('hex').toUpperCase()}`;
  const now = Date.now();
  const { result, commands } = await countCommands(subgraph, () =>
    post(
      CREATE,
      { input: { sku, name: 'Late', price: 100, weight: 1 } },
      { iat: now - 2_000, dl: now - 1_000, exp: now + 28_000 },
    ),
  );
  expect(result.status).toBe(503);
  expectUnavailable(result);
  expect(commands).not.toContain('insert');
  expect(await skuCount(sku)).toBe(0);
});

test('a token cannot stretch its deadline past its expiry, and the subgraph caps it at its own maximum', async () => {
  const now = Date.now();
  const past = await post(PRODUCTS_QUERY, undefined, { iat: now, exp: now + 1_000, dl: now + 2_000 });
  expect(past.status).toBe(401);
  // 5 s is this subgraph's maximum; 20 s is refused nowhere but capped, so the request is served normally.
  const capped = await post(PRODUCTS_QUERY, undefined, { dl: now + 20_000 });
  expect(capped.body.data).toEqual({ products: { edges: [] } });
});

test('a blackholed database: every request answers SERVICE_UNAVAILABLE within its deadline, then it recovers by itself', async () => {
  proxy.blackhole();
  try {
    const sku = `HOLE-${randomBytes(3).toString('hex').toUpperCase()}`;
    const answers = await Promise.all([
      post(PRODUCTS_QUERY, undefined, withDeadline()),
      post(PRODUCTS_QUERY, undefined, withDeadline()),
      post('query One($id: ID!) { product(id: $id) { sku } }', { id: 'a'.repeat(24) }, withDeadline()),
      post(CREATE, { input: { sku, name: 'Hole', price: 100, weight: 1 } }, withDeadline()),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expectUnavailable(answer);
      expect(answer.elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
    }
    // Later requests are answered within their deadline too, while the driver still cannot reach the server.
    const later = await post(PRODUCTS_QUERY, undefined, withDeadline());
    expectUnavailable(later);
    expect(later.elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect(logs.some((line) => line.msg === 'database unavailable')).toBe(true);
  } finally {
    proxy.forward();
  }

  // Recovers without a restart: within a few seconds of forwarding again requests are served.
  const started = Date.now();
  let answer = await post(PRODUCTS_QUERY, undefined, withDeadline(2_000));
  while (answer.body.errors && Date.now() - started < 15_000) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    answer = await post(PRODUCTS_QUERY, undefined, withDeadline(2_000));
  }
  expect(answer.body.errors).toBeUndefined();
  expect(answer.body.data?.products).toBeDefined();
}, 40_000);

test('a client that trickles its headers is closed within the configured headers timeout', async () => {
  const { port } = new URL(subgraph.url);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => socket.write('X'), 500);
  const closedAfter = await new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  clearInterval(trickle);
  // Configured: 1 s, checked every 250 ms. Node's defaults would keep it for 60–90 s.
  expect(closedAfter).toBeGreaterThanOrEqual(900);
  expect(closedAfter).toBeLessThan(3_000);
  expect(received).toMatch(/^HTTP\/1\.1 408/);
});
