/**
 * One JSON line per event on stderr (pino), so an operator can grep by tenant, operation, code, request id or trace
 * id; readable multi-line output instead (pino-pretty) when asked for, as `npm start` does in a terminal.
 *
 * Secrets never reach a log line: known secret-bearing keys are replaced, and so is anything that looks like a JWT,
 * an API key or an internal token (common/secret-shapes.ts). pino's own `redact` works by path only, so the
 * value-based redaction is pino's `formatters.log` (each line's fields), `formatters.bindings` (the base fields),
 * a child's fields once when the child is made, and the message's serializer.
 *
 * Inside an OpenTelemetry span every line carries `trace_id` and `span_id` (a pino `mixin` reading the active span
 * through @opentelemetry/api): whatever registers the SDK, the lines join the traces, and without an SDK the read
 * costs a lookup in an empty context.
 *
 * The keys log lines use, one per concept, are listed in README "Observability" (Logs).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';
import { redactSecrets } from './secret-shapes';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;
/** `auto`: `pretty` when stderr is a terminal, else `json`. */
export type LogFormat = 'json' | 'pretty' | 'auto';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'auto'];

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Receives each line as written, without its newline (tests collect lines this way). */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  /** Lines below this level are not written. Default `info`. */
  level?: LogLevel;
  /** Fields on every line (`service`). */
  base?: LogFields;
  /** Where the lines go instead of stderr. */
  sink?: LogSink;
  /**
   * `json` (default): one JSON object per line. `pretty`: pino-pretty's readable output, for a terminal. `auto`:
   * pretty when stderr is a terminal.
   */
  format?: LogFormat;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LOG_LEVELS = Object.keys(LEVELS) as LogLevel[];

const SECRET_KEYS = /^(authorization|token|jwt|apikey|api_key|x-api-key|secret|password|key|cookie|tollgate-context)$/i;
const REDACTED = '[redacted]';
const MAX_REDACT_DEPTH = 4;
const TOO_DEEP = '[too deep]';

/**
 * The value with secrets replaced. Copy-on-write: a value with nothing to redact is returned as it is (same
 * reference), so a clean log line allocates nothing here — the common case on the hot path.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    // Log lines carry what clients sent (paths, names, messages): the scan is linear in the string's length.
    return redactSecrets(value);
  }
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (value === null || typeof value !== 'object') return value;
  // Bounded walk; deeper than that nothing is looked at, so nothing is written either (fail closed: pino would
  // otherwise stringify it unredacted).
  if (depth > MAX_REDACT_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const clean = redact(item, depth + 1);
      if (clean !== item && !out) out = value.slice(0, i);
      if (out) out.push(clean);
    }
    return out ?? value;
  }
  const record = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k in record) {
    if (!Object.prototype.hasOwnProperty.call(record, k)) continue;
    const v = record[k];
    const clean = SECRET_KEYS.test(k) && v !== undefined ? REDACTED : redact(v, depth + 1);
    if (clean !== v && !out) out = copyKeysBefore(record, k);
    if (out) out[k] = clean;
  }
  return out ?? record;
}

/** The own fields of `record` that come before `key`, in order: the unchanged start of a copy. */
function copyKeysBefore(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in record) {
    if (k === key) break;
    if (Object.prototype.hasOwnProperty.call(record, k)) out[k] = record[k];
  }
  return out;
}

const NO_TRACE: LogFields = Object.freeze({});

/** `trace_id`/`span_id` of the active span, if any (a sampled-out span has ids too: they still join the logs). */
export function activeTraceFields(): LogFields {
  const span = trace.getActiveSpan();
  if (!span) return NO_TRACE;
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return NO_TRACE;
  return { trace_id: context.traceId, span_id: context.spanId } as LogFields;
}

/** Where a request keeps the ids of its trace for a line written outside its spans (its request line). */
export interface TraceNote {
  traceId?: string;
  spanId?: string;
}

/** Notes the active span's ids, unless ids were noted already: the first span a request is seen in. */
export function noteTrace(note: TraceNote): void {
  if (note.traceId !== undefined) return;
  const span = trace.getActiveSpan();
  if (!span) return;
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return;
  note.traceId = context.traceId;
  note.spanId = context.spanId;
}

/**
 * pino's default merge (`Object.assign(mixin, fields)`) writes into the mixin's object: fine for the fresh object of
 * a line inside a span (a spread `{ ...mixin, ...fields }` instead made such a line cost 11 µs instead of 4.4, see
 * scripts/logger-microbench.ts), not for the shared empty one — a line without a span keeps its own fields object.
 * A field of the line wins over the mixin's.
 */
function mergeMixin(fields: object, mixin: object): object {
  return mixin === NO_TRACE ? fields : Object.assign(mixin, fields);
}

/**
 * Tests set TOLLGATE_LOG_CAPTURE to a file: every line any logger of the process writes (whatever its sink, even a
 * test's silent one) is appended to it too, and the run's global teardown scans the file for secrets
 * (test/support/log-scan.ts). Read here rather than in the config module because tests create loggers directly,
 * and subgraph processes inherit it from the test's environment.
 */
let captureFd: number | undefined;
function captureLine(line: string): void {
  const path = process.env.TOLLGATE_LOG_CAPTURE;
  if (!path) return;
  if (captureFd === undefined) {
    captureFd = openSync(path, 'a');
    process.once('exit', () => closeSync(captureFd!));
  }
  // Synchronous and O_APPEND: lines of concurrent processes do not interleave within a line, none is lost at exit.
  writeSync(captureFd, line);
}

interface Destination {
  write(line: string): void;
}

let stderr: Destination | undefined;

function destinationFor(options: LoggerOptions): Destination {
  let out: Destination;
  if (options.sink) {
    const sink = options.sink;
    out = { write: (line) => sink(line.endsWith('\n') ? line.slice(0, -1) : line) };
  } else if (options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY)) {
    // Synchronous, in this thread: no worker (pino.transport) to start, and nothing lost when the process exits.
    const pretty = require('pino-pretty') as (options: Record<string, unknown>) => Destination;
    // Colour when the terminal supports it (or FORCE_COLOR, as `npm start` sets for its services' pipes).
    out = pretty({ destination: 2, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' });
  } else {
    // One stderr stream for every logger of the process; synchronous, so nothing is lost when the process exits.
    stderr ??= pino.destination({ dest: 2, sync: true });
    out = stderr;
  }
  if (!process.env.TOLLGATE_LOG_CAPTURE) return out;
  return {
    write: (line) => {
      captureLine(line);
      out.write(line);
    },
  };
}

const PINO_LEVEL: Record<LogLevel, pino.Level> = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' };

/** What a line without fields hands pino: one frozen object rather than a new one per line. */
const NO_FIELDS: LogFields = Object.freeze({});

/** Our `(msg, fields)` calls over pino's `(fields, msg)`. */
function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? NO_FIELDS, msg),
    info: (msg, fields) => p.info(fields ?? NO_FIELDS, msg),
    warn: (msg, fields) => p.warn(fields ?? NO_FIELDS, msg),
    error: (msg, fields) => p.error(fields ?? NO_FIELDS, msg),
    // pino hands a child's fields to the root's `formatters.bindings` only for the root's base: redacted here.
    child: (fields) => wrap(p.child(redact(fields) as LogFields)),
  };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const p = pino(
    {
      level: PINO_LEVEL[options.level ?? 'info'],
      base: options.base ?? {},
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { msg: (msg: unknown) => (typeof msg === 'string' ? redactSecrets(msg) : msg) },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redact(bindings) as LogFields,
        log: (fields) => redact(fields) as LogFields,
      },
      mixin: activeTraceFields,
      mixinMergeStrategy: mergeMixin,
    },
    destinationFor(options),
  );
  return wrap(p);
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  return value && value in LEVELS ? (value as LogLevel) : fallback;
}

/** `LOG_FORMAT`: `json`, `pretty` or `auto` (unset: `auto`); undefined for anything else. */
export function parseLogFormat(value: string | undefined): LogFormat | undefined {
  if (value === undefined || value === '') return 'auto';
  return LOG_FORMATS.find((format) => format === value);
}
