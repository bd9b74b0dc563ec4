import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as api from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createLogger, noteTrace, redact } from './logger';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJ0ZW5hbnQiOiJhY21lIn0.c2lnbmF0dXJl';
const API_KEY = 'tg_live_k1a2b3c4_s3cr3tV4lu3xyz';
const INTERNAL = 'v1.eyJraW5kIjoib3AiLCJhdWQiOiJhY2NvdW50cyJ9.abcdefghijklmnopqrstuvwxyz012345';

describe('redact', () => {
  it.each([
    ['a JWT', `Bearer ${JWT}`, 'Bearer [redacted]'],
    ['an API key', `key ${API_KEY} refused`, 'key [redacted] refused'],
    ['an internal token', `token=${INTERNAL}`, 'token=[redacted]'],
  ])('replaces %s inside any string', (_label, input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('replaces the values of secret-named keys, at any depth, and leaves the rest', () => {
    expect(
      redact({
        tenant: 'acme',
        nested: { authorization: 'Basic abc', list: [`x ${JWT}`, 'v1.2.3'] },
        'x-api-key': 'anything',
      }),
    ).toEqual({
      tenant: 'acme',
      nested: { authorization: '[redacted]', list: ['x [redacted]', 'v1.2.3'] },
      'x-api-key': '[redacted]',
    });
  });

  it('returns a string without any secret marker unchanged', () => {
    const text = 'GET /graphql 200 acme query Storefront';
    expect(redact(text)).toBe(text);
  });

  it('keeps an error to its name and redacted message', () => {
    expect(redact(new TypeError(`bad ${API_KEY}`))).toEqual({ name: 'TypeError', message: 'bad [redacted]' });
  });
});

describe('createLogger', () => {
  it('writes one JSON line per event above its level, with the base fields, secrets redacted', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', base: { service: 'gateway' }, sink: (line) => lines.push(line) });
    logger.debug('not written');
    logger.child({ tenant: 'acme' }).warn('refused', { token: JWT, reason: `used ${API_KEY}` });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'warn',
      msg: 'refused',
      service: 'gateway',
      tenant: 'acme',
      token: '[redacted]',
      reason: 'used [redacted]',
    });
    expect(lines[0]).not.toContain('s3cr3t');
  });
});

describe('redact, bounded', () => {
  it('writes an object nested deeper than it looks as a placeholder, never unredacted', () => {
    const deep = { a: { b: { c: { d: { e: { token: API_KEY } } } } } };
    expect(JSON.stringify(redact(deep))).toBe('{"a":{"b":{"c":{"d":{"e":"[too deep]"}}}}}');
  });
});

describe('redact, copy-on-write', () => {
  it('returns the very object when nothing in it is a secret (no allocation on a clean line)', () => {
    const fields = { tenant: 'acme', nested: { list: ['a', 'b'] }, codes: ['FORBIDDEN'] };
    expect(redact(fields)).toBe(fields);
  });

  it('copies only what changes and never writes into the caller’s object', () => {
    const fields = { tenant: 'acme', reason: `used ${API_KEY}`, after: 1 };
    const out = redact(fields) as Record<string, unknown>;
    expect(out).not.toBe(fields);
    expect(Object.keys(out)).toEqual(['tenant', 'reason', 'after']);
    expect(fields.reason).toContain(API_KEY);
  });
});

describe('createLogger on pino', () => {
  const collect = (level: 'debug' | 'info' = 'info') => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level, sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { logger, lines };
  };

  it('writes level names, an ISO time and the message; drops undefined fields', () => {
    const { logger, lines } = collect();
    logger.info('hello', { tenant: 'acme', principal: undefined });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({ level: 'info', time: expect.any(String), msg: 'hello', tenant: 'acme' });
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
  });

  it('redacts the message, a child’s fields and secret-named keys of a child', () => {
    const { logger, lines } = collect();
    logger.child({ token: 'opaque', note: `sent ${JWT}` }).error(`refused ${INTERNAL}`);
    expect(lines[0]).toMatchObject({ level: 'error', token: '[redacted]', note: 'sent [redacted]' });
    expect(lines[0]!.msg).toBe('refused [redacted]');
  });

  it('adds no trace ids outside a span', () => {
    const { logger, lines } = collect();
    logger.info('no span');
    expect(lines[0]).not.toHaveProperty('trace_id');
  });
});

describe('trace ids (a context manager and a tracer provider registered, as tracing does)', () => {
  beforeAll(() => {
    // The provider, AsyncLocalStorageContextManager and the W3C propagator, as globals.
    new NodeTracerProvider().register();
  });
  afterAll(() => {
    api.trace.disable();
    api.context.disable();
    api.propagation.disable();
  });

  it('puts the active span’s trace_id and span_id on every line written inside it, across awaits', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const tracer = api.trace.getTracer('test');
    const ids = await tracer.startActiveSpan('outer', async (span) => {
      logger.info('before');
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.child({ tenant: 'acme' }).info('after', { status: 200 });
      span.end();
      return span.spanContext();
    });
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'before', trace_id: ids.traceId, span_id: ids.spanId });
    expect(lines[1]).toMatchObject({ msg: 'after', tenant: 'acme', status: 200, trace_id: ids.traceId });
    expect(lines[2]).not.toHaveProperty('trace_id');
    // The mixin's object is the line's own: a field of the line is not lost, and nothing leaks between lines.
    expect(Object.keys(lines[1]!)).toEqual(['level', 'time', 'tenant', 'trace_id', 'span_id', 'status', 'msg']);
  });

  it('notes the first span a request is seen in, for a line written after its spans ended', () => {
    const note: { traceId?: string; spanId?: string } = {};
    noteTrace(note);
    expect(note).toEqual({});
    const tracer = api.trace.getTracer('test');
    const first = tracer.startActiveSpan('first', (span) => {
      noteTrace(note);
      span.end();
      return span.spanContext();
    });
    tracer.startActiveSpan('second', (span) => {
      noteTrace(note);
      span.end();
    });
    expect(note).toEqual({ traceId: first.traceId, spanId: first.spanId });
  });
});

describe('the test run’s capture (TOLLGATE_LOG_CAPTURE)', () => {
  it('appends every written line, after redaction, whatever the sink', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-capture-')), 'capture.jsonl');
    const before = process.env.TOLLGATE_LOG_CAPTURE;
    process.env.TOLLGATE_LOG_CAPTURE = file;
    try {
      // A fresh module: the capture file is opened once per process, at the first captured line.
      jest.isolateModules(() => {
        const { createLogger: fresh } = jest.requireActual<typeof import('./logger')>('./logger');
        const quiet = fresh({ sink: () => undefined });
        quiet.info('one', { reason: `used ${API_KEY}` });
        quiet.debug('below the level: not written, not captured');
        quiet.warn('two');
      });
      const captured = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string });
      expect(captured.map((l) => l.msg)).toEqual(['one', 'two']);
      expect(readFileSync(file, 'utf8')).not.toContain('s3cr3t');
    } finally {
      if (before === undefined) delete process.env.TOLLGATE_LOG_CAPTURE;
      else process.env.TOLLGATE_LOG_CAPTURE = before;
    }
  });
});
