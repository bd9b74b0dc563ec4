/**
 * An OTLP/HTTP trace receiver in the test's (or the benchmark's) own process: accepts the JSON exports of
 * exporter-trace-otlp-http on `POST /v1/traces` and decodes them into plain spans. For tests and the bench only.
 */
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

export type AttributeValue = string | number | boolean | AttributeValue[] | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  service: string;
  scope: string;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string }[];
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage?: string;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>/v1/traces`. */
  url: string;
  /** Every span received since the start (or `clear`), when `keep` was true. */
  spans(): ReceivedSpan[];
  /** How many spans were received, kept or not. */
  count(): number;
  clear(): void;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

function decodeValue(value: OtlpValue | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(decodeValue);
  return null;
}

function decodeAttributes(list: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) out[key] = decodeValue(value);
  return out;
}

export function decodeExport(body: OtlpExport): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of body.resourceSpans ?? []) {
    const service = String(decodeAttributes(resourceSpans.resource?.attributes)['service.name'] ?? '');
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
          name: span.name,
          kind: span.kind ?? 0,
          service,
          scope: scopeSpans.scope?.name ?? '',
          attributes: decodeAttributes(span.attributes),
          links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
          statusCode: span.status?.code ?? 0,
          ...(span.status?.message ? { statusMessage: span.status.message } : {}),
        });
      }
    }
  }
  return spans;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/** `keep: false` only counts (the bench: a long run must not grow the heap). */
export async function startOtlpReceiver(options: { keep?: boolean } = {}): Promise<OtlpReceiver> {
  const keep = options.keep ?? true;
  let spans: ReceivedSpan[] = [];
  let count = 0;
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    readBody(req).then(
      (body) => {
        const decoded = decodeExport(JSON.parse(body.toString('utf8')) as OtlpExport);
        count += decoded.length;
        if (keep) spans.push(...decoded);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans: () => [...spans],
    count: () => count,
    clear() {
      spans = [];
      count = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The real OTLP/HTTP exporter (exporter-trace-otlp-http), made usable inside jest. Its transport loads `http` with a
 * dynamic `import('http')` on the first export, which jest's VM refuses without `--experimental-vm-modules`; the
 * transport keeps what it loaded in `_utils` and loads nothing when that is already set, so this sets it — with
 * `http.request` and a keep-alive agent, as the transport itself would. Everything else (serialization, headers,
 * retries) is the exporter's own. Fails loudly if a version of the exporter no longer has that field.
 */
export function otlpExporterForJest(url: string): OTLPTraceExporter {
  const exporter = new OTLPTraceExporter({ url });
  const transport = findTransport(exporter, 0);
  if (!transport) throw new Error('exporter-trace-otlp-http changed: no transport with `_utils` found');
  transport._utils = { agent: new Agent({ keepAlive: true }), request };
  return exporter;
}

function findTransport(value: unknown, depth: number): { _utils: unknown } | undefined {
  if (typeof value !== 'object' || value === null || depth > 5) return undefined;
  if ('_utils' in value && (value as { _utils: unknown })._utils === null) return value as { _utils: unknown };
  for (const child of Object.values(value)) {
    const found = findTransport(child, depth + 1);
    if (found) return found;
  }
  return undefined;
}
