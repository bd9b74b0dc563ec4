/**
 * The CLI's side of the subgraphs' platform API (subgraphs/kit/platform/api.ts): every call signed for one
 * subgraph, one operation, one tenant and its exact body, with a timeout; answers read as JSON or, for export
 * pages, as a stream of lines held one at a time.
 */
import { randomUUID } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../subgraphs/catalog';
import {
  PLATFORM_TOKEN_HEADER,
  hashBody,
  mintPlatformToken,
  platformAudience,
  platformKeyFromSecret,
  type PlatformOperation,
} from '../../common/platform-token';
import { loadOrCreateInternalSecret } from '../../common/dev-secrets';
import type { PlatformApiSettings } from '../../gateway/src/config-common';

/** A platform call that failed: the subgraph, the operation, the HTTP status and the error code it answered. */
export class PlatformCallError extends Error {
  constructor(
    readonly subgraph: SubgraphName,
    readonly op: PlatformOperation,
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${subgraph} ${op}: ${detail} (${status} ${code})`);
    this.name = 'PlatformCallError';
  }
}

/** A line longer than this in an export page is refused rather than buffered. */
export const MAX_LINE_BYTES = 1_048_576;

export interface PlatformClient {
  readonly subgraphs: readonly SubgraphName[];
  call<T>(subgraph: SubgraphName, op: PlatformOperation, tenant: string, body?: Record<string, unknown>): Promise<T>;
  /** The answer's lines, one at a time (export pages). */
  lines(
    subgraph: SubgraphName,
    op: PlatformOperation,
    tenant: string,
    body: Record<string, unknown>,
  ): AsyncGenerator<string>;
}

export function createPlatformClient(settings: PlatformApiSettings): PlatformClient {
  const secret = settings.internalSecret ?? loadOrCreateInternalSecret();
  const keys = new Map(SUBGRAPH_NAMES.map((name) => [name, platformKeyFromSecret(secret, name)]));

  const send = async (
    subgraph: SubgraphName,
    op: PlatformOperation,
    tenant: string,
    extra: Record<string, unknown>,
    signal: AbortSignal,
  ) => {
    const body = Buffer.from(JSON.stringify({ ...extra, tenant }));
    const now = Date.now();
    const token = mintPlatformToken(keys.get(subgraph)!, {
      kind: 'platform',
      aud: platformAudience(subgraph),
      op,
      ten: tenant,
      bh: hashBody(body),
      rid: `cli-${randomUUID()}`,
      iat: now,
      exp: now + 30_000,
    });
    const url = new URL(`/_platform/${op}`, settings.subgraphUrls[subgraph]);
    // undici's `request`, not `fetch`: its body is a Node stream that stops reading the socket while the consumer
    // is busy, so a long export stream is paced by the file it goes to (fetch's web stream buffered ahead: the
    // CLI's RSS grew by 150 MiB over a 67 MiB export).
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PLATFORM_TOKEN_HEADER]: token },
        body,
        signal,
      });
    } catch {
      const why = signal.aborted ? 'timed out' : 'unreachable';
      throw new PlatformCallError(subgraph, op, 0, 'SERVICE_UNAVAILABLE', why);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = await res.body.text().catch(() => '');
      let message = 'refused';
      let code = 'UNKNOWN';
      try {
        const error = (JSON.parse(text) as { errors?: { message?: string; extensions?: { code?: string } }[] })
          .errors?.[0];
        message = error?.message ?? message;
        code = error?.extensions?.code ?? code;
      } catch {
        // Not our JSON: status only.
      }
      throw new PlatformCallError(subgraph, op, res.statusCode, code, message);
    }
    return res;
  };

  return {
    subgraphs: SUBGRAPH_NAMES,
    async call<T>(subgraph: SubgraphName, op: PlatformOperation, tenant: string, body: Record<string, unknown> = {}) {
      const signal = AbortSignal.timeout(settings.timeoutMs);
      return (await (await send(subgraph, op, tenant, body, signal)).body.json()) as T;
    },
    async *lines(subgraph, op, tenant, body) {
      // A stream may take longer than any one call: the timeout is on silence, restarted by every chunk.
      const controller = new AbortController();
      let timer = setTimeout(() => controller.abort(), settings.timeoutMs);
      const res = await send(subgraph, op, tenant, body, controller.signal);
      const decoder = new TextDecoder();
      let pending = '';
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          clearTimeout(timer);
          timer = setTimeout(() => controller.abort(), settings.timeoutMs);
          pending += decoder.decode(chunk, { stream: true });
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const line of lines) if (line) yield line;
          if (pending.length > MAX_LINE_BYTES)
            throw new PlatformCallError(subgraph, op, res.statusCode, 'BAD_RESPONSE', 'a line is too long');
        }
      } catch (error) {
        if (controller.signal.aborted)
          throw new PlatformCallError(subgraph, op, res.statusCode, 'TIMEOUT', 'the stream stalled');
        throw error;
      } finally {
        clearTimeout(timer);
      }
      pending += decoder.decode();
      if (pending) yield pending;
    },
  };
}
