/**
 * No import cycle in the tree, type-only imports included (scripts/import-cycles.ts; ESLint's import-x/no-cycle
 * covers value imports only).
 */
import { join } from 'node:path';
import { cycles, importGraph, projectCycles } from '../scripts/import-cycles';

const ROOT = join(__dirname, '..');

describe('import cycles', () => {
  it('finds a cycle closed by a type-only import, and none in a chain', () => {
    const sources = new Map([
      [
        '/p/tenants/registry.ts',
        "import { ApiKeyRegistry } from '../credentials/api-keys';\nexport class TenantRegistry {}",
      ],
      [
        '/p/credentials/api-keys.ts',
        "import type { TenantRegistry } from '../tenants/registry';\nimport { x } from './leaf';",
      ],
      ['/p/credentials/leaf.ts', 'export const x = 1;'],
    ]);
    expect(cycles(importGraph(sources))).toEqual([['/p/credentials/api-keys.ts', '/p/tenants/registry.ts']]);
    sources.set('/p/credentials/api-keys.ts', "import { x } from './leaf';");
    expect(cycles(importGraph(sources))).toEqual([]);
  });

  it('has none in gateway, subgraphs, cli, scripts, common, bench, test and demo', () => {
    expect(projectCycles(ROOT)).toEqual([]);
  });
});
