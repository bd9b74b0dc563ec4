/**
 * The capture of a test run's log lines (log-scan.ts says what is checked): the global setup names the file, test
 * helpers register the secrets they make, the global teardown scans.
 *
 * Secrets are registered in a file beside the capture (`<capture>.secrets`, one per line) rather than in memory:
 * jest runs test files in other processes than its global teardown.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export const LOG_CAPTURE_ENV = 'TOLLGATE_LOG_CAPTURE';

function secretsFile(capture: string): string {
  return `${capture}.secrets`;
}

/**
 * Registers values no log line may contain; buffers are registered as hex and base64url. Does nothing outside a
 * captured run (a test run alone, without the integration global setup).
 */
export function registerTestSecrets(...values: (string | Buffer | undefined)[]): void {
  const capture = process.env[LOG_CAPTURE_ENV];
  if (!capture) return;
  const lines: string[] = [];
  for (const value of values) {
    if (value === undefined) continue;
    if (typeof value === 'string') lines.push(value);
    else lines.push(value.toString('hex'), value.toString('base64url'));
  }
  // Secrets contain no newline (hex, base64url, tokens); one that did would be cut into pieces, still all checked.
  if (lines.length > 0) appendFileSync(secretsFile(capture), lines.join('\n') + '\n');
}

export function registeredSecrets(capture: string): string[] {
  const file = secretsFile(capture);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

export function secretsFileOf(capture: string): string {
  return secretsFile(capture);
}
