/**
 * How the gateway talks to subgraphs. RemoteGraphQLDataSource's default fetcher (make-fetch-happen) has unlimited
 * sockets and no timeout, so one hung subgraph holds every request that touches it forever. Here: keep-alive
 * connections, a bounded pool per subgraph, and a deadline on every fetch.
 *
 * No retries, ever: a subgraph fetch may be a mutation, and a retried mutation can apply twice.
 */
import type { RemoteGraphQLDataSource } from '@apollo/gateway';
import { Agent, fetch } from 'undici';

/** Enough for the fan-out of concurrent plans without letting one slow subgraph take every socket of the host. */
const CONNECTIONS_PER_SUBGRAPH = 64;

/** The fetch signature RemoteGraphQLDataSource calls (@apollo/utils.fetcher's, a subset of WHATWG fetch). */
export type Fetcher = RemoteGraphQLDataSource['fetcher'];

export interface SubgraphFetcherOptions {
  /** Deadline of one fetch, from sending the request to the last byte of the answer. */
  timeoutMs: number;
}

export interface SubgraphHttp {
  fetcherWithTimeout(options: SubgraphFetcherOptions): Fetcher;
  close(): Promise<void>;
}

export function createSubgraphHttp(): SubgraphHttp {
  // pipelining 1: a slow answer must not hold up the requests queued behind it on the same socket.
  const agent = new Agent({ connections: CONNECTIONS_PER_SUBGRAPH, pipelining: 1 });
  return {
    fetcherWithTimeout({ timeoutMs }) {
      return (url, init = {}) =>
        fetch(url, {
          method: init.method,
          headers: init.headers,
          body: init.body,
          dispatcher: agent,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
    },
    close: () => agent.close(),
  };
}
