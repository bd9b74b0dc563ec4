/**
 * The import-cycle lint that `.ci/run` runs (`npx eslint .`, import-x/no-cycle in eslint.config.js) fails on a
 * cycle: the project's own ESLint config, run as the CLI does, on sources given the names of real modules so the
 * rule follows the real tree's imports back to them.
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

function lint(source: string, filePath: string): Promise<Message[]> {
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

const cycles = (messages: Message[]) => messages.filter((m) => m.ruleId === 'import-x/no-cycle');
const COMMON = 'gateway/src/control-plane/registry-common.ts';

describe('import-x/no-cycle', () => {
  it('fails when the shared control-plane module imports what imports it back (registry-common → open → a registry → registry-common)', async () => {
    const source = `${readFileSync(join(ROOT, COMMON), 'utf8')}\nimport { openControlPlane } from './open';\nexport const opener = openControlPlane;\n`;
    const found = cycles(await lint(source, COMMON));
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toMatch(/^Dependency cycle via /);
    // Resolution reaches the .ts files on disk: the route names the registry the rule walked through, and its line.
    expect(found[0]!.message).toMatch(
      /via "\.\.\/(?:tenants\/registry|credentials\/api-keys|persisted\/registry):\d+"/,
    );
  }, 120_000);

  it('fails on a cycle across folders (the shape the tenant registry had: tenants → credentials → tenants)', async () => {
    const file = 'gateway/src/credentials/api-keys.ts';
    const source = `${readFileSync(join(ROOT, file), 'utf8')}\nimport { openControlPlane } from '../control-plane/open';\nexport const opener = openControlPlane;\n`;
    expect(cycles(await lint(source, file))).toHaveLength(1);
  }, 120_000);

  it('lets the modules as they are pass, and ignores a type-only import back (erased at compile time)', async () => {
    const [registry, typeOnly] = await Promise.all([
      lint(readFileSync(join(ROOT, 'gateway/src/tenants/registry.ts'), 'utf8'), 'gateway/src/tenants/registry.ts'),
      lint(
        `${readFileSync(join(ROOT, COMMON), 'utf8')}\nimport type { ControlPlane } from './open';\nexport type Opened = ControlPlane;\n`,
        COMMON,
      ),
    ]);
    expect(cycles(registry)).toEqual([]);
    expect(cycles(typeOnly)).toEqual([]);
  }, 120_000);
});
