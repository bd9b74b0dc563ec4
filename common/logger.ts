/**
 * One JSON line per event on stderr, so an operator can grep by tenant, operation, code or request id.
 * Secrets never reach a log line: known secret-bearing keys are replaced, and so is anything that looks
 * like a JWT, an API key or an internal token.
 */
import { redactSecrets } from './secret-shapes';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEYS = /^(authorization|token|jwt|apikey|api_key|x-api-key|secret|password|key|cookie|tollgate-context)$/i;
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    // Log lines carry what clients sent (paths, names, messages): the scan is linear in the string's length.
    return redactSecrets(value);
  }
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export type LogSink = (line: string) => void;

export function createLogger(options: { level?: LogLevel; base?: LogFields; sink?: LogSink } = {}): Logger {
  const min = LEVELS[options.level ?? 'info'];
  const base = options.base ?? {};
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return;
    const record = redact({ time: new Date().toISOString(), level, msg, ...base, ...fields }) as LogFields;
    sink(JSON.stringify(record));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ level: options.level, base: { ...base, ...fields }, sink }),
  };
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  return value && value in LEVELS ? (value as LogLevel) : fallback;
}
