/**
 * A subgraph's part of a trace (on when the process registered tracing, common/tracing/setup.ts): a server span
 * for each `/graphql` request that carries the gateway's W3C trace context — the child of the gateway's
 * `gateway.fetch` span — and a client span for each MongoDB command sent while one is active.
 *
 * A request without a `traceparent` (a health check, schema loading, a caller that is not the gateway) starts no
 * trace here: the subgraph continues the gateway's traces and makes none of its own.
 *
 * MongoDB spans come from the driver's command monitoring (`monitorCommands`, as kit/command-counter.ts): the
 * driver emits `commandStarted` synchronously from the operation the resolver awaits, so the active context there
 * is the request's; the span is kept until `commandSucceeded`/`commandFailed` with the same driver request id. They
 * carry the database, collection and command name — never the command's filter, documents or any other value.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import type { Connection } from 'mongoose';
import { verifiedRequest } from './internal-auth';

/** The request's server span; its tenant is set once the gateway's token was verified. */
export function traceSubgraphRequests(tracer: Tracer, subgraph: string): RequestHandler {
  return (req, res, next) => {
    if (req.headers.traceparent === undefined) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    if (!trace.getSpanContext(parent)) return next();
    const span = tracer.startSpan(
      'POST /graphql',
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'POST', 'http.route': '/graphql', 'tollgate.subgraph': subgraph },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const verified = verifiedRequest(req);
      if (verified?.kind === 'op') span.setAttribute('tenant', verified.scope.tenantId);
      span.setAttribute('http.response.status_code', res.statusCode);
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    // The body is read from the socket's events, which run in the socket's context, not this one: bound, their
    // listeners (express.json's) run in the span's context and so does everything after them.
    context.bind(active, req);
    context.bind(active, res);
    context.with(active, next);
  };
}

/** At most this many commands in flight are traced at once; beyond, commands go untraced rather than unbounded. */
const MAX_TRACED_COMMANDS = 10_000;

interface CommandEvent {
  requestId: number;
  commandName: string;
  databaseName?: string;
  command?: Record<string, unknown>;
}

/** The collection a command names (`find: "products"`, `getMore`'s `collection`), never anything else of it. */
export function commandCollection(event: CommandEvent): string | undefined {
  const command = event.command;
  if (!command) return undefined;
  const named = command[event.commandName];
  if (typeof named === 'string') return named;
  return typeof command.collection === 'string' ? command.collection : undefined;
}

/** Spans for the commands `connection` sends, which must have been opened with `monitorCommands: true`. */
export function traceMongoCommands(tracer: Tracer, connection: Connection): void {
  const inFlight = new Map<number, Span>();
  const client = connection.getClient();
  client.on('commandStarted', (event: CommandEvent) => {
    const active = context.active();
    if (!trace.getSpan(active)?.isRecording() || inFlight.size >= MAX_TRACED_COMMANDS) return;
    const collection = commandCollection(event);
    const span = tracer.startSpan(
      collection ? `${event.commandName} ${collection}` : event.commandName,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system': 'mongodb',
          'db.system.name': 'mongodb',
          'db.operation.name': event.commandName,
          ...(event.databaseName ? { 'db.name': event.databaseName, 'db.namespace': event.databaseName } : {}),
          ...(collection ? { 'db.collection.name': collection } : {}),
        },
      },
      active,
    );
    inFlight.set(event.requestId, span);
  });
  const finish = (failed: boolean) => (event: CommandEvent) => {
    const span = inFlight.get(event.requestId);
    if (!span) return;
    inFlight.delete(event.requestId);
    // The driver's failure text can quote the command or name hosts: the span says only that it failed.
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: 'command failed' });
    span.end();
  };
  client.on('commandSucceeded', finish(false));
  client.on('commandFailed', finish(true));
}
