/**
 * The Prometheus scrape endpoint, on a listener of its own (the gateway's and each subgraph's `METRICS_PORT`): kept
 * off the public port so tenants never see it, and bound to loopback unless the operator says otherwise. It answers
 * `GET /metrics` in the Prometheus text format and 404 to anything else.
 */
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { DEFAULT_HTTP_SERVER_TIMEOUTS, createHttpServer } from './http-server-timeouts';

export interface MetricsListenerOptions {
  registry: Registry;
  /** Interface to listen on: 127.0.0.1 unless configured. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
}

export interface MetricsListener {
  /** `http://host:port/metrics`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const { registry } = options;
  const server = createHttpServer(DEFAULT_HTTP_SERVER_TIMEOUTS, (req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const host =
    options.host === '0.0.0.0'
      ? '127.0.0.1'
      : options.host === '::'
        ? '[::1]'
        : options.host.includes(':')
          ? `[${options.host}]`
          : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
