/**
 * Generated artifacts that are checked in must match their sources: the resolver types, the clients' typed
 * documents and persisted query manifests (codegen.ts), and the supergraph (schema/compose.ts). A failure means `npm run codegen` or `npm run compose` was not run.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { composeSupergraph, SUPERGRAPH_PATH } from '../schema/compose';

const ROOT = join(__dirname, '..');

test('the checked-in resolver types, typed documents and manifests are what codegen.ts generates', () => {
  // The CLI's CommonJS build requires yargs, which ships ESM only and cannot be loaded inside jest; the CLI itself
  // runs in its own process, in check mode: it generates in memory, writes nothing, and exits 1 on a stale file.
  const cliPackage = require.resolve('@graphql-codegen/cli/package.json');
  const bin = (JSON.parse(readFileSync(cliPackage, 'utf8')) as { bin: Record<string, string> }).bin['graphql-codegen']!;
  const run = spawnSync(
    process.execPath,
    [join(dirname(cliPackage), bin), '--config', 'codegen.ts', '--check', '--errors-only'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect({ status: run.status, output: run.status === 0 ? '' : `${run.stdout}${run.stderr}` }).toEqual({
    status: 0,
    output: '',
  });
});

test('a new client folder under schema/operations/ is generated with no edit of the configuration', () => {
  // A copy of what codegen reads (the configuration, schema/, the subgraph schemas), plus one new client folder.
  const copy = mkdtempSync(join(tmpdir(), 'tollgate-codegen-'));
  try {
    cpSync(join(ROOT, 'codegen.ts'), join(copy, 'codegen.ts'));
    cpSync(join(ROOT, 'schema'), join(copy, 'schema'), { recursive: true });
    for (const name of ['accounts', 'products', 'inventory', 'reviews']) {
      mkdirSync(join(copy, 'subgraphs', name), { recursive: true });
      cpSync(join(ROOT, 'subgraphs', name, 'schema.graphql'), join(copy, 'subgraphs', name, 'schema.graphql'));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const client = join(copy, 'schema', 'operations', 'initech-partner');
    mkdirSync(client);
    writeFileSync(
      join(client, 'stock.graphql'),
      'query InitechStock($id: ID!) {\n  product(id: $id) {\n    id\n    inStock\n  }\n}\n',
    );
    const cliPackage = require.resolve('@graphql-codegen/cli/package.json');
    const bin = (JSON.parse(readFileSync(cliPackage, 'utf8')) as { bin: Record<string, string> }).bin[
      'graphql-codegen'
    ]!;
    const run = spawnSync(
      process.execPath,
      [join(dirname(cliPackage), bin), '--config', 'codegen.ts', '--errors-only'],
      {
        cwd: copy,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect({ status: run.status, output: run.status === 0 ? '' : `${run.stdout}${run.stderr}` }).toEqual({
      status: 0,
      output: '',
    });
    const manifest = JSON.parse(readFileSync(join(client, 'generated', 'manifest.json'), 'utf8')) as {
      operations: { name: string; type: string }[];
    };
    expect(manifest.operations.map(({ name, type }) => ({ name, type }))).toEqual([
      { name: 'InitechStock', type: 'query' },
    ]);
    expect(readFileSync(join(client, 'generated', 'operations.ts'), 'utf8')).toContain('InitechStockDocument');
    // The existing clients are still generated alongside it, unchanged.
    for (const existing of ['acme-partner', 'globex-partner', 'storefront']) {
      const file = join('schema', 'operations', existing, 'generated', 'manifest.json');
      expect(existsSync(join(copy, file)) && readFileSync(join(copy, file), 'utf8')).toBe(
        readFileSync(join(ROOT, file), 'utf8'),
      );
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('schema/supergraph.graphql is the composition of the subgraph schemas', () => {
  expect(readFileSync(SUPERGRAPH_PATH, 'utf8')).toBe(composeSupergraph());
});
