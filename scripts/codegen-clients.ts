/**
 * `npm run codegen`'s first step: rewrites the client block of codegen.yml from the folders under
 * schema/operations/ (schema/operations/codegen-clients.ts), so graphql-codegen, which runs next, generates for every
 * client folder. `--check` writes nothing and exits 1 when codegen.yml is not what the folders imply.
 * `--root <dir>` runs it on another checkout (a test's copy).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clientFolders, withClientEntries } from '../schema/operations/codegen-clients';

const { values } = parseArgs({ options: { check: { type: 'boolean' }, root: { type: 'string' } } });
const root = resolve(values.root ?? join(__dirname, '..'));
const file = join(root, 'codegen.yml');

try {
  const clients = clientFolders(join(root, 'schema', 'operations'));
  const current = readFileSync(file, 'utf8');
  const wanted = withClientEntries(current, clients);
  if (values.check) {
    if (current !== wanted) {
      process.stderr.write(
        `codegen.yml is stale: its client entries are not ${clients.join(', ')}; run npm run codegen\n`,
      );
      process.exitCode = 1;
    }
  } else if (current !== wanted) {
    writeFileSync(file, wanted);
    process.stdout.write(`codegen.yml: client entries for ${clients.join(', ')}\n`);
  }
} catch (error) {
  process.stderr.write(`codegen-clients: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
