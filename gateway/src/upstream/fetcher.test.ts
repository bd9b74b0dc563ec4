import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSubgraphHttp, type SubgraphHttp } from './fetcher';

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

describe('subgraph fetcher', () => {
  let http: SubgraphHttp;
  beforeEach(() => {
    http = createSubgraphHttp();
  });
  afterEach(async () => {
    await http.close();
  });

  it('reuses keep-alive connections instead of opening one per fetch', async () => {
    const fetcher = http.fetcherWithTimeout({ timeoutMs: 1_000 });
    const before = connections;
    for (let i = 0; i < 10; i++) {
      const res = await fetcher(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(await res.json()).toEqual({ data: { ok: true } });
    }
    // undici hands the next request to a second socket while the first is still finishing its response.
    expect(connections - before).toBeLessThanOrEqual(2);
  });

  it('gives up on a subgraph that does not answer within the deadline', async () => {
    const fetcher = http.fetcherWithTimeout({ timeoutMs: 150 });
    const started = Date.now();
    await expect(fetcher(`${url}/hang`, { method: 'POST', body: '{}' })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers with the status, headers and body a fetch Response would have', async () => {
    const fetcher = http.fetcherWithTimeout({ timeoutMs: 1_000 });
    const ok = await fetcher(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([ok.ok, ok.status, ok.headers.get('Content-Type')]).toEqual([true, 200, 'application/json']);
    expect(await ok.json()).toEqual({ data: { ok: true } });
    const teapot = await fetcher(`${url}/teapot`, { method: 'POST', body: '{}' });
    expect([teapot.ok, teapot.status, teapot.headers.get('x-one')]).toEqual([false, 418, 'a']);
    expect(await teapot.text()).toBe('short and stout');
  });

  it('does not follow redirects', async () => {
    const fetcher = http.fetcherWithTimeout({ timeoutMs: 1_000 });
    await expect(fetcher(`${url}/redirect`, { method: 'POST', body: '{}' })).rejects.toThrow('fetch failed');
  });
});
