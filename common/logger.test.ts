import { createLogger, redact } from './logger';

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
