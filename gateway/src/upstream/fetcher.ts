/**
 * How the gateway talks to subgraphs. RemoteGraphQLDataSource's default fetcher (make-fetch-happen) has unlimited
 * sockets and no timeout, so one hung subgraph holds every request that touches it forever. Here: keep-alive
 * connections, a bounded pool per subgraph, and a deadline on every fetch.
 *
 * No retries, ever: a subgraph fetch may be a mutation, and a retried mutation can apply twice.
 *
 * The fetch is undici's `request`, not its WHATWG `fetch`: `fetch` wraps every answer in web streams, a Request, a
 * Response and Headers objects, which under load cost more gateway CPU than everything the pipeline does. The answer
 * is handed to RemoteGraphQLDataSource as the small subset of a fetch Response it reads (`SubgraphResponse`), and
 * failures look as `fetch` made them: a redirect is refused with `TypeError('fetch failed')`, the deadline rejects
 * with the signal's `TimeoutError`, while connecting or while the body is read.
 */
import type { RemoteGraphQLDataSource } from '@apollo/gateway';
import { Agent, request, type Dispatcher } from 'undici';

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
      const fetcher = async (url: string, init: FetcherInit = {}) => {
        const signal = AbortSignal.timeout(timeoutMs);
        let answer: Dispatcher.ResponseData;
        try {
          answer = await request(url, {
            method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
            headers: init.headers as Record<string, string> | undefined,
            body: init.body as string | undefined,
            dispatcher: agent,
            signal,
          });
        } catch (error) {
          throw signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: error });
        }
        if (answer.statusCode >= 300 && answer.statusCode < 400) {
          answer.body.dump().catch(() => undefined);
          throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
        }
        return new SubgraphResponse(url, answer);
      };
      return fetcher as unknown as Fetcher;
    },
    close: () => agent.close(),
  };
}

type FetcherInit = Parameters<Fetcher>[1] & object;

const STATUS_TEXT: Readonly<Record<number, string>> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** What RemoteGraphQLDataSource reads of a fetch Response, over undici's `request` answer. */
export class SubgraphResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly redirected = false;
  readonly headers: Headers;
  private readonly answer: Dispatcher.ResponseData;

  constructor(
    readonly url: string,
    answer: Dispatcher.ResponseData,
  ) {
    this.answer = answer;
    this.status = answer.statusCode;
    this.ok = answer.statusCode >= 200 && answer.statusCode < 300;
    this.statusText = STATUS_TEXT[answer.statusCode] ?? '';
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    }
    this.headers = headers;
  }

  get bodyUsed(): boolean {
    return this.answer.body.bodyUsed;
  }

  json(): Promise<unknown> {
    return this.answer.body.json();
  }

  text(): Promise<string> {
    return this.answer.body.text();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.answer.body.arrayBuffer();
  }

  clone(): never {
    throw new Error('a subgraph response cannot be cloned');
  }
}
