/**
 * Generated artifacts that are checked in must match their sources: the resolver types, the clients' typed
 * documents and persisted query manifests (codegen.yml), and the supergraph (schema/compose.ts). A failure means `npm run codegen` or `npm run compose` was not run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { composeSupergraph, SUPERGRAPH_PATH } from '../schema/compose';

const ROOT = join(__dirname, '..');

test('the checked-in resolver types, typed documents and manifests are what codegen.yml generates', () => {
  // The CLI's CommonJS build requires yargs, which ships ESM only and cannot be loaded inside jest; the CLI itself
  // runs in its own process, in check mode: it generates in memory, writes nothing, and exits 1 on a stale file.
  const cliPackage = require.resolve('@graphql-codegen/cli/package.json');
  const bin = (JSON.parse(readFileSync(cliPackage, 'utf8')) as { bin: Record<string, string> }).bin['graphql-codegen']!;
  const run = spawnSync(
    process.execPath,
    [join(dirname(cliPackage), bin), '--config', 'codegen.yml', '--check', '--errors-only'],
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

test('schema/supergraph.graphql is the composition of the subgraph schemas', () => {
  expect(readFileSync(SUPERGRAPH_PATH, 'utf8')).toBe(composeSupergraph());
});
