/**
 * The project's root directory, found once: every file the code reads or writes beside itself (the supergraph, the
 * subgraphs' schema.graphql, schema/operations, .data/…) is a path under it. Paths built from a module's own
 * `__dirname` break once the module is bundled into dist/ (scripts/build.ts), where every module shares the
 * bundle's `__dirname`; walking up to the directory whose package.json names this project works from the sources
 * (tsx, jest) and from a bundle anywhere under the project (dist/, a benchmark's own build folder, /app/dist in
 * the image, which keeps package.json beside node_modules).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The `name` in the root package.json that marks the project's root. */
export const PROJECT_NAME = 'tollgate';

/** The nearest directory at or above `start` whose package.json has `"name": "tollgate"`; throws when none has. */
export function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readName(manifest) === PROJECT_NAME) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `cannot find the project root: no directory at or above ${start} has a package.json named "${PROJECT_NAME}" ` +
          '(a bundle must stay inside the project, e.g. dist/, with package.json at the top)',
      );
    }
    dir = parent;
  }
}

function readName(manifest: string): unknown {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
  } catch {
    // An unreadable or invalid package.json (a fixture, a half-written file) is not the project's: keep walking.
    return undefined;
  }
}

/** The project's root directory (the one holding the root package.json). */
export const PROJECT_ROOT = findProjectRoot(__dirname);
