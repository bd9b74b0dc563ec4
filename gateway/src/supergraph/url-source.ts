/**
 * The supergraph at a URL (`SUPERGRAPH_URL`: a CDN, an artifact store, a schema registry's export), polled. Each
 * poll sends the last ETag as `If-None-Match`, so an unchanged supergraph costs a 304 and no body. Replicas poll
 * at `intervalMs` plus a random `jitterMs`, so a fleet does not hit the server in step. A fetch has `timeoutMs`
 * and a body of at most MAX_SUPERGRAPH_BYTES; a failure is logged (once per outage) and the last good supergraph
 * keeps serving. Only the start fails on it: a gateway with no supergraph cannot serve.
 */
import type { Logger } from '../../../common/logger';
import { MAX_SUPERGRAPH_BYTES } from './registry';
import type { SupergraphSource } from './source';

export interface UrlSourceOptions {
  readonly url: string;
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Told of every failed poll (metrics). */
  readonly onFailure?: () => void;
  /** Tests: the random fraction of the jitter. */
  readonly random?: () => number;
}

export class SupergraphFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SupergraphFetchError';
  }
}

export function createUrlSource(options: UrlSourceOptions): SupergraphSource {
  const { url, logger } = options;
  const random = options.random ?? Math.random;
  let etag: string | undefined;
  let last: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failing = false;

  /** The SDL when it changed, `undefined` on 304 or an unchanged body. */
  const fetchOnce = async (): Promise<string | undefined> => {
    const response = await fetch(url, {
      headers: { accept: 'text/plain, application/graphql, */*', ...(etag ? { 'if-none-match': etag } : {}) },
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'error',
    });
    if (response.status === 304) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new SupergraphFetchError(`the supergraph URL answered ${response.status}`);
    }
    const sdl = await readBounded(response);
    etag = response.headers.get('etag') ?? undefined;
    if (sdl === last) return undefined;
    last = sdl;
    return sdl;
  };

  return {
    name: 'url',
    async start(onChange) {
      try {
        await fetchOnce();
      } catch (error) {
        throw new SupergraphFetchError(`cannot load the supergraph from SUPERGRAPH_URL: ${describe(error)}`);
      }
      const schedule = () => {
        if (closed) return;
        timer = setTimeout(tick, options.intervalMs + Math.floor(random() * options.jitterMs));
        timer.unref();
      };
      const tick = () => {
        fetchOnce().then(
          (sdl) => {
            if (failing) logger.info('the supergraph URL answers again');
            failing = false;
            if (sdl !== undefined && !closed) onChange(sdl);
            schedule();
          },
          (error: unknown) => {
            options.onFailure?.();
            if (!failing)
              logger.warn('cannot poll the supergraph URL; serving the last one loaded', { error: describe(error) });
            failing = true;
            schedule();
          },
        );
      };
      schedule();
      return last;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** The body as text, refused past the bound without reading the rest. */
async function readBounded(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > MAX_SUPERGRAPH_BYTES) {
    await response.body?.cancel();
    throw new SupergraphFetchError(`the supergraph is larger than ${MAX_SUPERGRAPH_BYTES} bytes`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_SUPERGRAPH_BYTES) {
      await response.body.cancel().catch(() => undefined);
      throw new SupergraphFetchError(`the supergraph is larger than ${MAX_SUPERGRAPH_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The URL may carry a token in its query: errors are described without it. */
function describe(error: unknown): string {
  if (error instanceof SupergraphFetchError) return error.message;
  // fetch's errors (undici's DOMException, TypeError) may come from another realm, where `instanceof Error` fails
  // (jest's test environment): read the name as a property.
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError') return 'timed out';
  return typeof name === 'string' ? name : 'failed';
}
