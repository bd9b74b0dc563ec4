/**
 * Development secrets on a fresh checkout, created by several processes at once (`npm start` and the benchmark start
 * gateways and subgraphs side by side): they must all end up with the same key.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOnce } from './dev-secrets';

const PROCESSES = 8;

/**
 * A child loads the modules, says `ready`, and waits for `go` on its stdin: the parent sends it to all of them at
 * once, so their creations overlap (without the barrier, process start-up alone spreads them out).
 */
function startChild(dir: string): { ready: Promise<void>; go(): void; answer: Promise<string> } {
  const script = `
    const { loadOrCreateDevJwtKeys, loadOrCreateInternalSecret } = require('./common/dev-secrets');
    const { loadOrCreateDevMasterKey } = require('./common/master-key');
    process.stderr.write('ready\\n');
    process.stdin.once('data', () => loadOrCreateDevJwtKeys(${JSON.stringify(dir)}).then((jwt) => {
      const secret = loadOrCreateInternalSecret(${JSON.stringify(dir)}).toString('hex');
      const master = loadOrCreateDevMasterKey(${JSON.stringify(dir)}).toString('hex');
      process.stdout.write(JSON.stringify({ kid: jwt.kid, secret, master }));
      process.exit(0);
    }));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(__dirname, '..') });
  let out = '';
  let err = '';
  const ready = new Promise<void>((resolve) =>
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('ready')) resolve();
    }),
  );
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const answer = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
  return { ready, go: () => child.stdin.write('go\n'), answer };
}

describe('development secrets', () => {
  it('are the same for every process that creates them at once, and leave no file aside', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tollgate-dev-secrets-')), 'secrets');
    const children = Array.from({ length: PROCESSES }, () => startChild(dir));
    await Promise.all(children.map((child) => child.ready));
    for (const child of children) child.go();
    const answers = await Promise.all(children.map((child) => child.answer));
    expect(new Set(answers).size).toBe(1);
    const { kid, secret, master } = JSON.parse(answers[0]!) as Record<string, string>;
    expect(JSON.parse(readFileSync(join(dir, 'dev-jwt.json'), 'utf8'))).toMatchObject({ kid });
    expect(readFileSync(join(dir, 'internal-secret'), 'utf8').trim()).toBe(secret);
    expect(readFileSync(join(dir, 'encryption-master-key'), 'utf8').trim()).toBe(master);
    expect(readdirSync(dir).sort()).toEqual(['dev-jwt.json', 'encryption-master-key', 'internal-secret']);
  }, 60_000);

  it('keeps what is there: a second creation returns the first content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-dev-secrets-'));
    expect(createOnce(dir, 'key', 'first')).toBe('first');
    expect(createOnce(dir, 'key', 'second')).toBe('first');
    expect(readdirSync(dir)).toEqual(['key']);
  });
});
