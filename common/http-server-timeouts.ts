/**
 * The timeouts of every HTTP listener (the gateway's and each subgraph's). Node's defaults let a client that
 * trickles its headers hold a connection for 60 s plus up to 30 s until the next periodic check, a slow body for
 * 300 s, and a connection serve requests forever; these bound each of them.
 *
 * On Node ≥ 18 `headersTimeout` counts from the first byte of a request, not from when a keep-alive connection
 * went idle (checked on Node 20: a connection idle for longer than `headersTimeout` but shorter than
 * `keepAliveTimeout` still serves its next request). The old advice to keep `headersTimeout` above
 * `keepAliveTimeout` therefore no longer applies, and a short headers timeout can sit beside a keep-alive timeout
 * longer than a load balancer's idle timeout.
 */
import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';

export interface HttpServerTimeouts {
  /** Time a client has to send the complete request headers, from their first byte. */
  headersTimeoutMs: number;
  /** Time a client has to send the complete request, headers and body; at least `headersTimeoutMs`. */
  requestTimeoutMs: number;
  /**
   * How long an idle keep-alive connection is kept. Must stay above the idle timeout of any load balancer in front
   * (AWS ALB: 60 s), or the balancer reuses a connection the server is closing and answers 502.
   */
  keepAliveTimeoutMs: number;
  /** Requests one connection may carry before the server closes it (0: unlimited); spreads clients over replicas. */
  maxRequestsPerSocket: number;
  /**
   * A socket with no traffic either way for this long is destroyed (0: never): a client that stops reading its
   * answer, or any state the other timeouts do not cover. Above every other timeout and the longest operation.
   */
  socketIdleTimeoutMs: number;
}

export const DEFAULT_HTTP_SERVER_TIMEOUTS: Readonly<HttpServerTimeouts> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxRequestsPerSocket: 1_000,
  socketIdleTimeoutMs: 120_000,
});

/** Node checks header and request timeouts only every `connectionsCheckingInterval` (30 s by default). */
export function connectionsCheckingIntervalMs(timeouts: HttpServerTimeouts): number {
  // A quarter of the shorter timeout: a connection is closed at most 25 % late, and a check of the connection
  // list costs microseconds.
  return Math.max(50, Math.min(5_000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 4)));
}

/** What is wrong with a set of timeouts, as messages naming `names`' variables; empty when nothing is. */
export function httpTimeoutProblems(
  timeouts: HttpServerTimeouts,
  names: { headers: string; request: string },
): string[] {
  // Node refuses to start a server whose request timeout is shorter than its headers timeout.
  return timeouts.requestTimeoutMs < timeouts.headersTimeoutMs
    ? [`${names.request} must be at least ${names.headers}`]
    : [];
}

/** An HTTP server with `timeouts` applied, serving `listener`. */
export function createHttpServer(timeouts: HttpServerTimeouts, listener?: RequestListener): Server {
  const options: ServerOptions = {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    // Only settable at creation: without it the two timeouts above are enforced up to 30 s late.
    connectionsCheckingInterval: connectionsCheckingIntervalMs(timeouts),
  };
  const server = listener ? createServer(options, listener) : createServer(options);
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = timeouts.maxRequestsPerSocket;
  server.timeout = timeouts.socketIdleTimeoutMs;
  return server;
}

/**
 * The `HTTP_*` listener variables, read with the caller's integer reader (which records a bad value in its own
 * problem list), and their consistency checked: the gateway's configuration and each subgraph's read them alike.
 */
export function readHttpServerTimeouts(
  integer: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
): HttpServerTimeouts {
  const timeouts: HttpServerTimeouts = {
    headersTimeoutMs: integer('HTTP_HEADERS_TIMEOUT_MS', DEFAULT_HTTP_SERVER_TIMEOUTS.headersTimeoutMs, 100, 600_000),
    requestTimeoutMs: integer('HTTP_REQUEST_TIMEOUT_MS', DEFAULT_HTTP_SERVER_TIMEOUTS.requestTimeoutMs, 100, 3_600_000),
    keepAliveTimeoutMs: integer(
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
      DEFAULT_HTTP_SERVER_TIMEOUTS.keepAliveTimeoutMs,
      1,
      3_600_000,
    ),
    maxRequestsPerSocket: integer(
      'HTTP_MAX_REQUESTS_PER_SOCKET',
      DEFAULT_HTTP_SERVER_TIMEOUTS.maxRequestsPerSocket,
      0,
      1_000_000,
    ),
    socketIdleTimeoutMs: integer(
      'HTTP_SOCKET_IDLE_TIMEOUT_MS',
      DEFAULT_HTTP_SERVER_TIMEOUTS.socketIdleTimeoutMs,
      0,
      3_600_000,
    ),
  };
  problems.push(
    ...httpTimeoutProblems(timeouts, { headers: 'HTTP_HEADERS_TIMEOUT_MS', request: 'HTTP_REQUEST_TIMEOUT_MS' }),
  );
  return timeouts;
}
