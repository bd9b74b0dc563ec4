/**
 * The regular-expression lint that `.ci/run` runs (`npx eslint .`) fails on a pattern that backtracks: run the
 * project's own ESLint config, as the CLI does, on small sources placed under gateway/src.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

interface Message {
  ruleId: string | null;
  message: string;
  line: number;
}

function lint(source: string, filePath = 'gateway/src/lint-probe.ts'): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', filePath, '--format', 'json'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => {
        // Exit code 1 means "problems found"; anything else is a broken run.
        if (error && error.code !== 1) return reject(error);
        const [result] = JSON.parse(stdout) as { messages: Message[] }[];
        resolve(result?.messages ?? []);
      },
    );
    child.stdin?.end(source);
  });
}

/** yup 0.32's e-mail pattern, read from the installed yup (what graphql-shield's `inputRule` validated with). */
function yupEmailPattern(): string {
  const source = readFileSync(require.resolve('yup/lib/string.js'), 'utf8');
  const line = source.split('\n').find((text) => text.startsWith('let rEmail = /'));
  if (!line) throw new Error('yup no longer declares rEmail where this test looks for it');
  return line.slice('let rEmail = '.length, line.lastIndexOf(';'));
}

interface Probe {
  readonly name: string;
  readonly source: string;
}

/** Each probe on its own line of one source, so one ESLint run (a few seconds: it loads typescript-eslint) does. */
const PROBES: readonly Probe[] = [
  { name: 'nested', source: 'export const nested = /^(a+)+$/;' },
  { name: 'yup', source: `export const yupEmail = ${yupEmailPattern()};` },
  { name: 'move', source: "export const strip = (text: string) => text.replace(/\\s*Did you mean [^?]*\\?/g, '');" },
  { name: 'inputRule', source: "import { inputRule } from 'graphql-shield';" },
  { name: 'tenant', source: 'export const tenant = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;' },
  { name: 'hex', source: 'export const hex = /^[0-9a-f]{24}$/;' },
  { name: 'header', source: 'export const header = /^(Bearer|ApiKey) +(\\S+) *$/i;' },
  { name: 'used', source: 'export const used = inputRule;' },
];

describe('the regular-expression lint', () => {
  let byProbe: Map<string, Message[]>;

  beforeAll(async () => {
    const messages = await lint(PROBES.map((probe) => probe.source).join('\n') + '\n');
    byProbe = new Map(PROBES.map((probe, index) => [probe.name, messages.filter((m) => m.line === index + 1)]));
  }, 60_000);

  const rulesOf = (name: string) => [...new Set(byProbe.get(name)!.map((m) => m.ruleId))];

  it('reports nested quantifiers (exponential backtracking)', () => {
    expect(rulesOf('nested')).toContain('regexp/no-super-linear-backtracking');
  });

  it("reports yup's e-mail pattern as exponential", () => {
    const backtracking = byProbe
      .get('yup')!
      .filter((m) => m.ruleId?.startsWith('regexp/') && m.message.includes('exponential backtracking'));
    expect(backtracking.length).toBeGreaterThan(0);
  });

  it('reports a search that is quadratic when it retries from every position', () => {
    expect(rulesOf('move')).toContain('regexp/no-super-linear-move');
  });

  it('forbids graphql-shield inputRule (yup) outside tests', () => {
    expect(rulesOf('inputRule')).toContain('no-restricted-imports');
  });

  it('passes linear patterns', () => {
    for (const name of ['tenant', 'hex', 'header', 'used']) expect([name, byProbe.get(name)]).toEqual([name, []]);
  });
});
