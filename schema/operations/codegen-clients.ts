/**
 * The client entries of codegen.yml, generated from the folders: every directory directly under
 * schema/operations/ that holds at least one `.graphql` file is a client, and gets two outputs — typed documents
 * (`generated/operations.ts`) and a persisted query manifest (`generated/manifest.json`). codegen.yml stays the one
 * top-level codegen configuration (the design card names it); only the block between the markers below is
 * rewritten, by `npm run codegen` before graphql-codegen runs (scripts/codegen-clients.ts), so a new client is a new
 * folder and no hand edit. The subgraphs' entries above the block stay hand-written.
 *
 * Output is deterministic: clients sorted by name (code-unit order, not locale), one fixed layout, no anchors that
 * depend on which client comes first. A folder name becomes a YAML key, a glob and the manifest id `tollgate
 * manifest publish --manifest` takes, so it must be a manifest name (persisted/manifest.ts): a folder that is not
 * one fails the run with its name instead of writing a codegen.yml that would mean something else.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isManifestName } from '../../gateway/src/persisted/manifest';

export const BEGIN_MARKER =
  '  # BEGIN client operations: generated from the folders under schema/operations/ by `npm run codegen`';
export const END_MARKER = '  # END client operations';
const BLOCK_NOTE =
  '  # (scripts/codegen-clients.ts); do not edit between these markers — add a folder with .graphql files instead.';

/** The client folders under `operationsDir`, sorted; throws on a folder whose name is not a manifest name. */
export function clientFolders(operationsDir: string): string[] {
  const clients = readdirSync(operationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((name) =>
      readdirSync(join(operationsDir, name), { withFileTypes: true }).some(
        (file) => file.isFile() && file.name.endsWith('.graphql'),
      ),
    );
  const bad = clients.filter((name) => !isManifestName(name));
  if (bad.length > 0)
    throw new Error(
      `schema/operations/${bad[0]}: a client folder's name is its manifest id: letters, digits, ".", "_" or "-", up to 100 characters`,
    );
  return clients.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The two codegen outputs of one client, as codegen.yml lines (indented under `generates:`). */
function clientEntry(client: string): string[] {
  const base = `schema/operations/${client}`;
  const input = [
    '    schema:',
    '      - schema/supergraph.graphql:',
    '          loader: ./schema/operations/api-schema-loader.cjs',
    `    documents: ${base}/*.graphql`,
  ];
  return [
    `  ${base}/generated/operations.ts:`,
    ...input,
    '    plugins: [typescript, typescript-operations, typed-document-node]',
    '    config:',
    '      onlyOperationTypes: true',
    `  ${base}/generated/manifest.json:`,
    ...input,
    '    plugins: [./schema/operations/manifest-plugin.cjs]',
  ];
}

/** The whole generated block, markers included. */
export function clientBlock(clients: readonly string[]): string {
  return [BEGIN_MARKER, BLOCK_NOTE, ...clients.flatMap(clientEntry), END_MARKER].join('\n');
}

/**
 * `codegenYml` with its client block replaced by the one `clients` imply. Throws when the markers are missing or
 * out of order (someone edited them away): the file is then left for a person to fix, not guessed at.
 */
export function withClientEntries(codegenYml: string, clients: readonly string[]): string {
  const begin = codegenYml.indexOf(`${BEGIN_MARKER}\n`);
  const endAt = codegenYml.indexOf(`${END_MARKER}\n`, begin);
  if (begin === -1 || endAt === -1 || codegenYml.indexOf(BEGIN_MARKER, begin + 1) !== -1)
    throw new Error(
      `codegen.yml must hold one block from "${BEGIN_MARKER.trim()}" to "${END_MARKER.trim()}" (each on its own line, at the end of generates:)`,
    );
  return `${codegenYml.slice(0, begin)}${clientBlock(clients)}${codegenYml.slice(endAt + END_MARKER.length)}`;
}
