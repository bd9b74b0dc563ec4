/**
 * "No log line of the whole suite contains a token, key or secret" (issue 14, acceptance 3), checked.
 *
 * During an integration run every logger of every process (the tests', the platforms' gateways and subgraphs,
 * spawned subgraph and gateway processes) appends each line it writes to one capture file (TOLLGATE_LOG_CAPTURE,
 * common/logger.ts); test helpers that make secrets register them beside it (log-capture.ts). At global teardown
 * this scan reads the file line by line and fails the run on any line that holds
 *   - a credential by its shape: a JWT, a Tollgate API key, an internal token (common/secret-shapes.ts) — the shapes
 *     the logger redacts, so one surviving means a path around the redaction (a field's key, say);
 *   - a registered secret, verbatim: internal secrets and derived subgraph keys (hex and base64url), API key secret
 *     parts, signing keys' private parts, tokens the tests minted;
 *   - an e-mail address of a demo user.
 * Reports name the file, the line number and the kind of secret, never the secret itself.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { redactSecrets } from '../../common/secret-shapes';

/** The seeded demo users (demo/seed.ts): their addresses are personal data, never a log field. */
export const DEMO_USER_EMAILS = [
  'admin@acme.test',
  'staff@acme.test',
  'customer@acme.test',
  'admin@globex.test',
  'staff@globex.test',
  'customer@globex.test',
] as const;

export interface Leak {
  line: number;
  kind: 'credential-shape' | 'registered-secret' | 'demo-email';
}

/** Registered secrets shorter than this are ignored: a short string would match by chance. */
export const MIN_SECRET_LENGTH = 12;

export class LineScanner {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    this.secrets = [...new Set(secrets)].filter((secret) => secret.length >= MIN_SECRET_LENGTH);
  }

  /** The kind of secret the line holds, or undefined. */
  check(line: string): Leak['kind'] | undefined {
    if (redactSecrets(line) !== line) return 'credential-shape';
    for (const secret of this.secrets) if (line.includes(secret)) return 'registered-secret';
    // Lower-cased once: an address is matched whatever its case.
    const lower = line.toLowerCase();
    for (const email of DEMO_USER_EMAILS) if (lower.includes(email)) return 'demo-email';
    return undefined;
  }
}

export interface ScanResult {
  /** Lines scanned. */
  lines: number;
  leaks: Leak[];
}

/** Every leaking line of a capture file (streamed: the file of a whole run can be large). */
export async function scanLogFile(path: string, secrets: Iterable<string>): Promise<ScanResult> {
  if (!existsSync(path)) return { lines: 0, leaks: [] };
  const scanner = new LineScanner(secrets);
  const leaks: Leak[] = [];
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    line += 1;
    const kind = scanner.check(text);
    if (kind) leaks.push({ line, kind });
  }
  return { lines: line, leaks };
}

/** The failure message for a run whose logs leaked: where, and what kind, at most `max` lines of it. */
export function describeLeaks(path: string, leaks: readonly Leak[], max = 20): string {
  const shown = leaks.slice(0, max).map((leak) => `  ${path}:${leak.line}  ${leak.kind}`);
  const more = leaks.length > max ? [`  … and ${leaks.length - max} more`] : [];
  return [`${leaks.length} log line(s) of this run hold a secret (kept for inspection):`, ...shown, ...more].join('\n');
}
