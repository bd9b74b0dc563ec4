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
import { EventEmitter } from 'node:events';
import { Agent, request } from 'undici';

/** Enough for the fan-out of concurrent plans without letting one slow subgraph take every socket of the host. */
const CONNECTIONS_PER_SUBGRAPH = 64;

export interface SubgraphRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A subgraph's answer, read to the end: its status, content type and body. */
export interface SubgraphAnswer {
  readonly statusCode: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * POSTs one request and reads the whole answer. Rejects with a `TimeoutError` (a DOMException, as `fetch` has it)
 * when the deadline passes — while connecting, waiting or reading the body — and with the network error otherwise.
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
        // A timer cleared when the answer is in, rather than AbortSignal.timeout, which fires for every fetch long
        // after it is done and builds a DOMException with a stack trace each time; and an EventEmitter as the
        // signal (undici takes either), which costs less than an AbortController's EventTarget.
        const abort = new EventEmitter();
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          abort.emit('abort');
        }, timeoutMs);
        try {
          const answer = await request(url, { method: 'POST', headers, body, dispatcher: agent, signal: abort });
          const contentType = answer.headers['content-type'];
          return {
            statusCode: answer.statusCode,
            contentType: typeof contentType === 'string' ? contentType : '',
            body: await answer.body.text(),
          };
        } catch (error) {
          throw timedOut ? new DOMException('The operation was aborted due to timeout', 'TimeoutError') : error;
        } finally {
          clearTimeout(timer);
        }
      };
    },
    close: () => agent.close(),
  };
}
