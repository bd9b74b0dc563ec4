/** The URL source against a real HTTP server: conditional polls, jitter, timeouts, size bound, failures. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger } from '../../../common/logger';
import { MAX_SUPERGRAPH_BYTES } from './registry';
import { createUrlSource } from './url-source';
import type { SupergraphSource } from './source';

interface Served {
  status: number;
  body: string;
  etag?: string;
  hang?: boolean;
}

describe('the SUPERGRAPH_URL source', () => {
  let server: Server;
  let url: string;
  let served: Served;
  const requests: IncomingHttpHeaders[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  let source: SupergraphSource | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.headers);
      if (served.hang) return;
      if (served.etag && req.headers['if-none-match'] === served.etag) {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(served.status, served.etag ? { etag: served.etag } : {}).end(served.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/supergraph.graphql?token=s3cret`;
  });

  afterEach(async () => {
    await source?.close();
    source = undefined;
    requests.length = 0;
    logs.length = 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Polls `condition` (every poll of the source is 50–70 ms apart); fails after 10 s. */
  const until = async (what: string, condition: () => boolean) => {
    for (const deadline = Date.now() + 10_000; !condition(); await delay(20)) {
      if (Date.now() > deadline) throw new Error(`never: ${what}`);
    }
  };

  const start = (onChange: (sdl: string) => void, timeoutMs = 1_000) => {
    source = createUrlSource({ url, intervalMs: 50, jitterMs: 20, timeoutMs, logger, random: () => 0.5 });
    return source.start(onChange);
  };

  it('loads the supergraph, then polls with If-None-Match and reports only a changed one', async () => {
    served = { status: 200, body: 'v1', etag: '"v1"' };
    const changes: string[] = [];
    expect(await start((sdl) => changes.push(sdl))).toBe('v1');
    await until('three polls', () => requests.length >= 4);
    expect(changes).toEqual([]);
    expect(requests[0]!['if-none-match']).toBeUndefined();
    expect(requests.slice(1).every((headers) => headers['if-none-match'] === '"v1"')).toBe(true);
    served = { status: 200, body: 'v2', etag: '"v2"' };
    await until('v2 reported', () => changes.length > 0);
    const polled = requests.length;
    await until('more polls', () => requests.length >= polled + 3);
    expect(changes).toEqual(['v2']);
  });

  it('keeps the last supergraph when the URL fails or hangs, logs it once without the URL, and resumes', async () => {
    served = { status: 200, body: 'v1' };
    const changes: string[] = [];
    await start((sdl) => changes.push(sdl), 100);
    served = { status: 503, body: 'down' };
    let polled = requests.length;
    await until('failed polls', () => requests.length >= polled + 3);
    served = { status: 200, body: '', hang: true };
    polled = requests.length;
    await until('timed-out polls', () => requests.length >= polled + 3);
    const warnings = logs.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(logs)).not.toContain('s3cret');
    expect(changes).toEqual([]);
    served = { status: 200, body: 'v2' };
    await until('v2 reported', () => changes.length > 0);
    expect(changes).toEqual(['v2']);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'the supergraph URL answers again' }));
  });

  it('refuses to start when the URL cannot be loaded, or answers more than the bound', async () => {
    // Generous timeouts: these cases are about the answer, not the deadline, and a loaded machine is slow.
    served = { status: 404, body: 'no' };
    await expect(start(() => undefined, 10_000)).rejects.toThrow(
      'cannot load the supergraph from SUPERGRAPH_URL: the supergraph URL answered 404',
    );
    served = { status: 200, body: 'x'.repeat(MAX_SUPERGRAPH_BYTES + 1) };
    await expect(start(() => undefined, 10_000)).rejects.toThrow(/larger than/);
  });
});
