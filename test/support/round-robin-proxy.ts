/**
 * A small HTTP load balancer for tests, behaving like a Kubernetes Service in front of gateway replicas:
 *
 * - round robin over the backends that are in rotation;
 * - a backend enters rotation only once its `/readyz` answered 200, and leaves it as soon as one poll fails
 *   (polled every `pollMs` after the previous poll ended, as the kubelet's readiness probe is; no
 *   `failureThreshold` grace, the strictest case);
 * - retries nothing, except a connection that was refused before any byte was sent (`ECONNREFUSED` on connect): the
 *   request never reached anyone, so trying the next backend cannot apply anything twice. That is what a real load
 *   balancer does (Envoy's `connect-failure`, nginx's `proxy_next_upstream error`); a reset or a timeout after the
 *   request went out is answered 502 and counted, never retried — a mutation may have been applied.
 *
 * Every answer carries `x-backend: <id>` so a test can tell which replica answered. Tests only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

export interface RoundRobinProxyOptions {
  /** How often each backend's /readyz is polled. */
  pollMs: number;
  /** How long one readiness poll may take before it counts as failed (Kubernetes' `timeoutSeconds`; 1 s). */
  probeTimeoutMs?: number;
}

export interface ProxyStats {
  /** Requests retried on another backend after a refused connection. */
  retriedRefused: number;
  /** Requests answered 502 by the proxy itself: no backend, or a failure after the request went out. */
  proxyErrors: number;
  /** Why, for a failing test's message. */
  errors: string[];
  /** Every entry into and exit from rotation, with the probe's answer when it left. */
  transitions: string[];
}

export interface RoundRobinProxy {
  /** The proxy's origin (`http://127.0.0.1:<port>`). */
  readonly origin: string;
  /** Adds a backend (an origin such as `http://127.0.0.1:4100`), out of rotation until its readiness passes. */
  add(id: string, origin: string): void;
  /** Takes a backend out for good (its process is gone). */
  remove(id: string): void;
  /** Resolves once the backend is in rotation. */
  waitInRotation(id: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the backend is out of rotation. */
  waitOutOfRotation(id: string, timeoutMs?: number): Promise<void>;
  inRotation(): string[];
  readonly stats: ProxyStats;
  close(): Promise<void>;
}

interface Backend {
  id: string;
  origin: string;
  ready: boolean;
}

/** Request headers that describe one hop, not the request: never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
]);
/** A body larger than this is refused (413) rather than buffered: no test sends one. */
const MAX_BODY_BYTES = 1_048_576;

function refusedBeforeSending(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).code;
  const causeCode = (error as { cause?: { code?: unknown } }).cause?.code;
  return code === 'ECONNREFUSED' || causeCode === 'ECONNREFUSED';
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length > 0 ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startRoundRobinProxy(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
  const probeTimeoutMs = options.probeTimeoutMs ?? 1_000;
  const backends = new Map<string, Backend>();
  const stats: ProxyStats = { retriedRefused: 0, proxyErrors: 0, errors: [], transitions: [] };
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: 64 });
  let next = 0;
  let closed = false;

  const rotation = () => [...backends.values()].filter((b) => b.ready);

  const poll = async (backend: Backend) => {
    let ready: boolean;
    let why: string;
    try {
      const res = await request(`${backend.origin}/readyz`, {
        dispatcher: agent,
        headersTimeout: probeTimeoutMs,
        bodyTimeout: probeTimeoutMs,
      });
      await res.body.dump();
      ready = res.statusCode === 200;
      why = `status ${res.statusCode}`;
    } catch (error) {
      ready = false;
      why = (error as Error).message;
    }
    // Removed while the probe ran: stays removed.
    if (backends.get(backend.id) !== backend) return;
    if (backend.ready !== ready) stats.transitions.push(`${backend.id} ${ready ? 'in' : `out (${why})`}`);
    backend.ready = ready;
  };
  // Each backend is probed on its own schedule, one probe at a time: a slow one delays nobody else's.
  const probeLoop = async (backend: Backend) => {
    while (!closed && backends.get(backend.id) === backend) {
      await poll(backend);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    }
  };
  const loops = new Set<Promise<void>>();

  const forward = async (req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    // Each backend at most once per request: a refused connection moves on to the next one in rotation.
    const tried = new Set<string>();
    for (;;) {
      const candidates = rotation().filter((b) => !tried.has(b.id));
      if (candidates.length === 0) {
        stats.proxyErrors++;
        stats.errors.push(
          `${req.method} ${req.url}: no backend in rotation (tried ${[...tried].join(', ') || 'none'})`,
        );
        res.writeHead(502, { 'content-type': 'text/plain' }).end('no backend');
        return;
      }
      const backend = candidates[next++ % candidates.length]!;
      tried.add(backend.id);
      try {
        const answer = await request(`${backend.origin}${req.url ?? '/'}`, {
          method: req.method as 'GET' | 'POST',
          headers,
          body,
          dispatcher: agent,
        });
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        }
        out['x-backend'] = backend.id;
        const payload = Buffer.from(await answer.body.arrayBuffer());
        res.writeHead(answer.statusCode, out).end(payload);
        return;
      } catch (error) {
        if (refusedBeforeSending(error)) {
          stats.retriedRefused++;
          continue;
        }
        stats.proxyErrors++;
        stats.errors.push(`${req.method} ${req.url} via ${backend.id}: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway');
        return;
      }
    }
  };

  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (body) => forward(req, res, body),
      () => res.writeHead(413).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    stats,
    add(id, backendOrigin) {
      const backend = { id, origin: backendOrigin, ready: false };
      backends.set(id, backend);
      const loop = probeLoop(backend).finally(() => loops.delete(loop));
      loops.add(loop);
    },
    remove(id) {
      backends.delete(id);
    },
    inRotation: () => rotation().map((b) => b.id),
    waitInRotation: (id, timeoutMs = 30_000) =>
      until(() => backends.get(id)?.ready === true, `${id} to enter rotation`, timeoutMs),
    waitOutOfRotation: (id, timeoutMs = 30_000) =>
      until(() => backends.get(id)?.ready !== true, `${id} to leave rotation`, timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(loops);
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await agent.close();
    },
  };
}
