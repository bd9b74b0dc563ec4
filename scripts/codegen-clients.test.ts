/**
 * `npm run codegen` finds every client folder without an edit: codegen.yml's client block is what the folders under
 * schema/operations/ imply (scripts/codegen-clients.ts --check), and on a copy of the project with one more folder
 * the generator adds it and graphql-codegen then writes its typed documents and persisted query manifest.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function codegenBin(): string {
  const cliPackage = require.resolve('@graphql-codegen/cli/package.json');
  const bin = (JSON.parse(readFileSync(cliPackage, 'utf8')) as { bin: Record<string, string> }).bin['graphql-codegen']!;
  return join(dirname(cliPackage), bin);
}

const run = (command: string, args: string[], cwd = ROOT) => {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
};

test('codegen.yml lists exactly the client folders under schema/operations/', () => {
  expect(run(TSX, ['scripts/codegen-clients.ts', '--check'])).toEqual({ status: 0, output: '' });
});

test('a new folder is picked up: its entries are generated, then its documents and manifest', () => {
  // Inside the project, so graphql-codegen resolves its plugins from node_modules as in a checkout.
  mkdirSync(join(ROOT, '.data'), { recursive: true });
  const copy = mkdtempSync(join(ROOT, '.data', 'codegen-clients-'));
  try {
    cpSync(join(ROOT, 'codegen.yml'), join(copy, 'codegen.yml'));
    cpSync(join(ROOT, 'schema'), join(copy, 'schema'), { recursive: true });
    for (const name of ['accounts', 'products', 'inventory', 'reviews']) {
      cpSync(join(ROOT, 'subgraphs', name, 'schema.graphql'), join(copy, 'subgraphs', name, 'schema.graphql'));
    }
    const partner = join(copy, 'schema', 'operations', 'initech-partner');
    mkdirSync(partner);
    writeFileSync(
      join(partner, 'stock.graphql'),
      'query InitechStock($id: ID!) {\n  product(id: $id) {\n    id\n    quantity\n  }\n}\n',
    );

    expect(run(TSX, [join(ROOT, 'scripts', 'codegen-clients.ts'), '--root', copy, '--check']).status).toBe(1);
    const generated = run(TSX, [join(ROOT, 'scripts', 'codegen-clients.ts'), '--root', copy]);
    expect(generated).toEqual({
      status: 0,
      output: 'codegen.yml: client entries for acme-partner, globex-partner, initech-partner, storefront\n',
    });
    const yml = readFileSync(join(copy, 'codegen.yml'), 'utf8');
    expect(yml).toContain('  schema/operations/initech-partner/generated/manifest.json:\n');
    // Everything outside the client block is untouched.
    const original = readFileSync(join(ROOT, 'codegen.yml'), 'utf8');
    expect(yml.slice(0, yml.indexOf('  # BEGIN client operations'))).toBe(
      original.slice(0, original.indexOf('  # BEGIN client operations')),
    );

    const codegen = run(process.execPath, [codegenBin(), '--config', 'codegen.yml', '--errors-only'], copy);
    expect(codegen.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(partner, 'generated', 'manifest.json'), 'utf8')) as {
      format: string;
      operations: { name: string; type: string }[];
    };
    expect(manifest.format).toBe('apollo-persisted-query-manifest');
    expect(manifest.operations.map(({ name, type }) => ({ name, type }))).toEqual([
      { name: 'InitechStock', type: 'query' },
    ]);
    expect(existsSync(join(partner, 'generated', 'operations.ts'))).toBe(true);
    expect(readFileSync(join(partner, 'generated', 'operations.ts'), 'utf8')).toContain('InitechStockQuery');
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}, 180_000);
