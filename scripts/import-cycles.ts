/**
 * Import cycles that count type-only imports too: `npx tsx scripts/import-cycles.ts` prints them and exits 1.
 *
 * Why besides ESLint's import-x/no-cycle: that rule follows value imports only, and both cycles issue 13 named
 * (tenants/registry ↔ credentials/api-keys / persisted/registry, authz ↔ pipeline) closed through an `import type`.
 * Type-only cycles do not break loading, but they are the same layering mistake. TypeScript's own pre-processor
 * lists a file's imports without type-checking, so the whole tree takes well under a second.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const SOURCE_DIRS = ['gateway', 'subgraphs', 'cli', 'scripts', 'common', 'bench', 'test', 'demo'];
const SKIPPED_DIRS = new Set(['node_modules', 'generated', 'client']);

/** The project's source files (tests are leaves: nothing imports them), absolute paths. */
export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
        files.push(path);
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return files;
}

/** Each file's relative imports (value and type) that resolve to another of `sources`: path → its text. */
export function importGraph(sources: ReadonlyMap<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, text] of sources) {
    const targets: string[] = [];
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const base = resolve(dirname(file), fileName);
      const target = [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => sources.has(candidate));
      if (target) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The strongly connected components with more than one file (Tarjan), each sorted; every cycle lies in one. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

/** The cycles of the project at `root`, as sorted lists of paths relative to it. */
export function projectCycles(root: string): string[][] {
  const sources = new Map(sourceFiles(root).map((file) => [file, readFileSync(file, 'utf8')] as const));
  return cycles(importGraph(sources)).map((component) => component.map((file) => relative(root, file)));
}

if (require.main === module) {
  const found = projectCycles(resolve(__dirname, '..'));
  for (const component of found) console.log(`import cycle among:\n  ${component.join('\n  ')}`);
  process.exitCode = found.length > 0 ? 1 : 0;
}
