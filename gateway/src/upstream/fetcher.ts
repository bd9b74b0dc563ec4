/**
 * How the gateway talks to subgraphs: keep-alive connections, a bounded pool per subgraph, and a deadline on every
 * request. (RemoteGraphQLDataSource's default fetcher, make-fetch-happen, has unlimited sockets and no timeout, so
 * one hung subgraph would hold every request that touches it forever.)
 *
 * No retries, ever: a subgraph request may be a mutation, and a retried mutation can apply twice. No redirects
 * either: undici's `request` does not follow them, and the data source refuses any answer that is not a 2xx.
 *
 * It is undici's `request`, not a WHATWG `fetch`: a fetch wraps every answer in web streams and Request, Response
 * and Headers objects, which under load cost more gateway CPU than everything the pipeline does.
 */
import { Agent, request, type Dispatcher } from 'undici';

/** Enough for the fan-out of concurrent plans without letting one slow subgraph take every socket of the host. */
const CONNECTIONS_PER_SUBGRAPH = 64;

export interface SubgraphRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A subgraph's answer: its status, headers and a body to read once (or dump, so the connection can be reused). */
export type SubgraphAnswer = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers' | 'body'>;

/**
 * POSTs one request. Rejects with the deadline signal's `TimeoutError` when the deadline passes — while connecting,
 * waiting or reading the body (the body read rejects then) — and with the network error otherwise.
 */
export type SubgraphPoster = (request: SubgraphRequest) => Promise<SubgraphAnswer>;

export interface SubgraphHttp {
  /** `timeoutMs`: deadline of one request, from sending it to the last byte of the answer. */
  posterWithTimeout(options: { timeoutMs: number }): SubgraphPoster;
  close(): Promise<void>;
}

export function createSubgraphHttp(): SubgraphHttp {
  // pipelining 1: a slow answer must not hold up the requests queued behind it on the same socket.
  const agent = new Agent({ connections: CONNECTIONS_PER_SUBGRAPH, pipelining: 1 });
  return {
    posterWithTimeout({ timeoutMs }) {
      return async ({ url, headers, body }) => {
        const signal = AbortSignal.timeout(timeoutMs);
        try {
          return await request(url, { method: 'POST', headers, body, dispatcher: agent, signal });
        } catch (error) {
          throw signal.aborted ? signal.reason : error;
        }
      };
    },
    close: () => agent.close(),
  };
}
