import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_SECRETS_DIR } from '../common/dev-secrets';
import type { EmbeddedFerretDB } from '../scripts/embedded/ferretdb';
import type { RedisHandle } from '../scripts/embedded/redis';
import { LOG_CAPTURE_ENV, registeredSecrets, secretsFileOf } from './support/log-capture';
import { describeLeaks, scanLogFile } from './support/log-scan';

/** The development secrets `npm start` and some tests use (common/dev-secrets.ts), when this machine has them. */
function devSecrets(): string[] {
  const secrets: string[] = [];
  const internal = join(DEV_SECRETS_DIR, 'internal-secret');
  if (existsSync(internal)) {
    const hex = readFileSync(internal, 'utf8').trim();
    secrets.push(hex, Buffer.from(hex, 'hex').toString('base64url'));
  }
  const jwt = join(DEV_SECRETS_DIR, 'dev-jwt.json');
  if (existsSync(jwt)) {
    const d = (JSON.parse(readFileSync(jwt, 'utf8')) as { privateJwk?: { d?: string } }).privateJwk?.d;
    if (d) secrets.push(d);
  }
  return secrets;
}

/** Fails the run if any log line of it holds a secret (support/log-scan.ts); a clean capture is removed. */
async function checkLogCapture(): Promise<void> {
  const capture = process.env[LOG_CAPTURE_ENV];
  if (!capture) return;
  const secrets = [...registeredSecrets(capture), ...devSecrets()];
  const { lines, leaks } = await scanLogFile(capture, secrets);
  if (leaks.length > 0) throw new Error(describeLeaks(capture, leaks));
  process.stderr.write(`log scan: ${lines} log lines of this run, ${secrets.length} registered secrets, none leaked\n`);
  rmSync(capture, { force: true });
  rmSync(secretsFileOf(capture), { force: true });
}

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const test = g.__TOLLGATE_FERRETDB__ as { ferret: EmbeddedFerretDB; dataDir: string } | undefined;
  if (test) {
    await test.ferret.stop();
    rmSync(test.dataDir, { recursive: true, force: true });
  }
  await (g.__TOLLGATE_REDIS__ as RedisHandle | undefined)?.stop();
  await checkLogCapture();
}
