import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BEGIN_MARKER, END_MARKER, clientBlock, clientFolders, withClientEntries } from './codegen-clients';

const YML = `overwrite: true\ngenerates:\n  subgraphs/a/generated/types.ts:\n    schema: subgraphs/a/schema.graphql\n${BEGIN_MARKER}\n  stale: entry\n${END_MARKER}\n`;

describe("codegen.yml's client entries, from the folders", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-codegen-clients-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const folder = (name: string, files: string[]) => {
    mkdirSync(join(dir, name, 'generated'), { recursive: true });
    for (const file of files) writeFileSync(join(dir, name, file), 'query Q { __typename }\n');
  };

  it('takes every folder holding a .graphql file, sorted by code unit, and skips the rest', () => {
    folder('zeta-partner', ['a.graphql']);
    folder('Acme.v2', ['b.graphql', 'notes.md']);
    folder('acme-partner', ['c.graphql']);
    folder('leftover', ['README.md']);
    writeFileSync(join(dir, 'loose.graphql'), '{ __typename }');
    expect(clientFolders(dir)).toEqual(['Acme.v2', 'acme-partner', 'zeta-partner']);
  });

  it('refuses a folder whose name is no manifest id (it would be a YAML key and a glob)', () => {
    folder('bad name: x', ['a.graphql']);
    expect(() => clientFolders(dir)).toThrow(
      /^schema\/operations\/bad name: x: a client folder's name is its manifest id/,
    );
  });

  it('replaces only the marked block, two outputs per client, the same bytes every time', () => {
    const once = withClientEntries(YML, ['acme-partner', 'storefront']);
    expect(once.startsWith(YML.slice(0, YML.indexOf(BEGIN_MARKER)))).toBe(true);
    expect(once).not.toContain('stale: entry');
    expect(once.endsWith(`${END_MARKER}\n`)).toBe(true);
    expect(once.match(/^ {2}schema\/operations\/[^/]+\/generated\/[\w.]+:$/gm)).toEqual([
      '  schema/operations/acme-partner/generated/operations.ts:',
      '  schema/operations/acme-partner/generated/manifest.json:',
      '  schema/operations/storefront/generated/operations.ts:',
      '  schema/operations/storefront/generated/manifest.json:',
    ]);
    expect(once).toContain('    documents: schema/operations/storefront/*.graphql\n');
    expect(withClientEntries(once, ['acme-partner', 'storefront'])).toBe(once);
    expect(clientBlock([])).toBe(`${BEGIN_MARKER}\n${clientBlock([]).split('\n')[1]}\n${END_MARKER}`);
  });

  it('refuses a codegen.yml without its markers rather than guessing where clients go', () => {
    expect(() => withClientEntries('generates:\n', ['a'])).toThrow(/codegen.yml must hold one block/);
    expect(() => withClientEntries(`${YML}${BEGIN_MARKER}\n`, ['a'])).toThrow(/codegen.yml must hold one block/);
  });
});
