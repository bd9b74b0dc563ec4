import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { describeLeaks, LineScanner, MIN_SECRET_LENGTH, scanLogFile } from './log-scan';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJ0ZW5hbnQiOiJhY21lIn0.c2lnbmF0dXJl';
const API_KEY = 'tg_live_k1a2b3c4_s3cr3tV4lu3xyz';
const INTERNAL = 'v1.eyJraW5kIjoib3AiLCJhdWQiOiJhY2NvdW50cyJ9.abcdefghijklmnopqrstuvwxyz012345';
const SECRET_HEX = 'a3f1c2d4e5b60718293a4b5c6d7e8f90a3f1c2d4e5b60718293a4b5c6d7e8f90';

describe('LineScanner', () => {
  const scanner = new LineScanner([SECRET_HEX, 'short']);

  it.each([
    ['a JWT', `{"msg":"request","authorization":"Bearer ${JWT}"}`, 'credential-shape'],
    ['an API key', `{"msg":"refused","reason":"used ${API_KEY}"}`, 'credential-shape'],
    ['an internal token', `{"msg":"x","context":"${INTERNAL}"}`, 'credential-shape'],
    ['a JWT as a field’s key, where redaction does not look', `{"${JWT}":1}`, 'credential-shape'],
    ['a registered secret', `{"msg":"derived","key_hex":"${SECRET_HEX}"}`, 'registered-secret'],
    ['a demo user’s e-mail, whatever its case', '{"msg":"login","user":"Admin@Acme.test"}', 'demo-email'],
  ])('flags a line with %s', (_label, line, kind) => {
    expect(scanner.check(line)).toBe(kind);
  });

  it('passes the lines the gateway writes', () => {
    for (const line of [
      '{"level":"info","msg":"request","requestId":"r-1","tenant":"acme","errorCodes":[],"reason":"[redacted]"}',
      '{"level":"error","msg":"subgraph fetch failed","subgraph":"inventory","status":503}',
      `{"level":"info","msg":"short is ignored: shorter than ${MIN_SECRET_LENGTH} characters"}`,
    ]) {
      expect(scanner.check(line)).toBeUndefined();
    }
  });

  it('passes what the logger wrote from secrets (redacted), and flags what slipped around it', () => {
    const lines: string[] = [];
    // Not into this run's capture (`npm test` sets it for both projects): the line below leaks on purpose.
    const capture = process.env.TOLLGATE_LOG_CAPTURE;
    delete process.env.TOLLGATE_LOG_CAPTURE;
    const logger = createLogger({ sink: (line) => lines.push(line) });
    if (capture !== undefined) process.env.TOLLGATE_LOG_CAPTURE = capture;
    logger.warn(`refused ${JWT}`, { apiKey: API_KEY, reason: `with ${API_KEY}` });
    logger.info('a key used as a field name', { [API_KEY]: true });
    expect(lines.map((line) => scanner.check(line))).toEqual([undefined, 'credential-shape']);
  });
});

describe('scanLogFile', () => {
  it('reports each leaking line by number and kind, never the secret itself, and nothing for a clean file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-scan-'));
    const file = join(dir, 'capture.jsonl');
    writeFileSync(
      file,
      ['{"msg":"clean"}', `{"msg":"leak","secret":"${SECRET_HEX}"}`, '{"msg":"clean"}', `{"x":"${API_KEY}"}`].join(
        '\n',
      ),
    );
    const { lines, leaks } = await scanLogFile(file, [SECRET_HEX]);
    expect(lines).toBe(4);
    expect(leaks).toEqual([
      { line: 2, kind: 'registered-secret' },
      { line: 4, kind: 'credential-shape' },
    ]);
    const message = describeLeaks(file, leaks);
    expect(message).toContain(`${file}:2  registered-secret`);
    expect(message).not.toContain(SECRET_HEX);
    expect(message).not.toContain(API_KEY);

    const clean = join(dir, 'clean.jsonl');
    writeFileSync(clean, '{"msg":"clean"}\n');
    expect(await scanLogFile(clean, [SECRET_HEX])).toEqual({ lines: 1, leaks: [] });
    expect(await scanLogFile(join(dir, 'absent.jsonl'), [])).toEqual({ lines: 0, leaks: [] });
  });
});
