import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSubgraphHttp, type SubgraphHttp, type SubgraphPoster } from './fetcher';

let server: Server;
let url: string;
let connections = 0;
const held = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/hang') {
      held.add(res);
      return;
    }
    if (req.url === '/trickle') {
      held.add(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":');
      return;
    }
    if (req.url === '/teapot') {
      req.resume();
      res.writeHead(418, { 'content-type': 'text/plain', 'x-one': 'a' }).end('short and stout');
      return;
    }
    if (req.url === '/redirect') {
      res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data' }).end();
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { ok: true } }));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('subgraph poster', () => {
  let http: SubgraphHttp;
  beforeEach(() => {
    http = createSubgraphHttp();
  });
  afterEach(async () => {
    await http.close();
  });

  const graphql = (post: SubgraphPoster, path = '/graphql') =>
    post({ url: `${url}${path}`, headers: { 'content-type': 'application/json' }, body: '{}' });

  it('reuses keep-alive connections instead of opening one per request', async () => {
    const post = http.posterWithTimeout({ timeoutMs: 1_000 });
    const before = connections;
    for (let i = 0; i < 10; i++) {
      const answer = await graphql(post);
      expect(JSON.parse(answer.body)).toEqual({ data: { ok: true } });
    }
    // undici hands the next request to a second socket while the first is still finishing its response.
    expect(connections - before).toBeLessThanOrEqual(2);
  });

  it('gives up on a subgraph that does not answer within the deadline', async () => {
    const post = http.posterWithTimeout({ timeoutMs: 150 });
    const started = Date.now();
    await expect(graphql(post, '/hang')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('gives up on an answer whose body does not arrive within the deadline', async () => {
    const post = http.posterWithTimeout({ timeoutMs: 150 });
    const started = Date.now();
    await expect(graphql(post, '/trickle')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers with the status, content type and body, whatever the status', async () => {
    const post = http.posterWithTimeout({ timeoutMs: 1_000 });
    expect(await graphql(post)).toEqual({
      statusCode: 200,
      contentType: 'application/json',
      body: '{"data":{"ok":true}}',
    });
    expect(await graphql(post, '/teapot')).toEqual({
      statusCode: 418,
      contentType: 'text/plain',
      body: 'short and stout',
    });
  });

  it('does not follow redirects', async () => {
    const post = http.posterWithTimeout({ timeoutMs: 1_000 });
    expect((await graphql(post, '/redirect')).statusCode).toBe(307);
  });
});
