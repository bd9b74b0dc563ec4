/**
 * `npm run build`: each entry point bundled by esbuild into one CommonJS file under dist/, so production runs plain
 * JavaScript (`node --enable-source-maps dist/gateway.js`) instead of transforming TypeScript through tsx at runtime
 * (tsx's resolver sits on every `require`, and @apollo/utils.createhash requires `crypto` on every call).
 *
 *   dist/gateway.js    gateway/src/main.ts        the gateway (configuration from the environment)
 *   dist/subgraph.js   subgraphs/run.ts           one subgraph: `node dist/subgraph.js <accounts|products|…>`
 *   dist/seed.js       scripts/seed.ts            docker-compose's one-shot seed service
 *   dist/tollgate.js   cli/tollgate.ts            the tollgate CLI, for `docker compose exec gateway …`
 *   dist/token.js      cli/token.ts               a development JWT, for `docker compose exec gateway …`
 *
 * Every bundle: platform node, target node24 (the Docker image's Node; the sources use no syntax Node 20 lacks, and
 * CI runs these bundles on both, scripts/build.test.ts), CommonJS, `packages: 'external'` (node_modules stay real
 * `require`s, resolved by Node from the project's node_modules), names kept, and a source map beside it so stack
 * traces point at the .ts lines when Node runs with `--enable-source-maps` (only errors pay for the mapping).
 *
 * A bundle finds the files it reads (schema/, subgraphs/<name>/schema.graphql, .data/) through common/paths.ts,
 * which walks up from the bundle to the directory whose package.json is named "tollgate": the output folder must
 * therefore be inside the project (dist/, .data/…, bench/results/…); buildBundles refuses one outside it.
 *
 * API (the benchmark bundles its bare gateway the same way):
 *
 *   import { buildBundles } from '../scripts/build';
 *   const built = await buildBundles({
 *     outdir: join(ROOT, '.data', 'bench-dist'),                    // default: <project>/dist
 *     entries: [{ in: 'bench/bare-gateway.ts', out: 'bare-gateway' }], // `in` relative to the project root or absolute
 *     defaults: true,                                                // also the five bundles above (default true)
 *     log: (line) => process.stdout.write(line + '\n'),              // default: stdout; () => {} for silence
 *   });
 *   // built: [{ entry, file, bytes, ms }, …] in the order given (defaults first); file is absolute:
 *   // node --enable-source-maps <outdir>/bare-gateway.js
 *
 * `out` is the bundle's name without `.js` (a path under outdir is allowed: `bench/bare-gateway`). A failed build
 * rejects with esbuild's error (its messages are printed as well); nothing is cleaned from outdir beforehand.
 */
import { mkdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PROJECT_ROOT } from '../common/paths';

export interface BundleEntry {
  /** The TypeScript entry point: absolute, or relative to the project root. */
  in: string;
  /** The bundle's name under outdir, without `.js`. */
  out: string;
}

export interface BuildBundlesOptions {
  /** Where the bundles go; must be inside the project (see the header). Default: `<project>/dist`. */
  outdir?: string;
  /** Bundles to build in addition to (or, with `defaults: false`, instead of) DEFAULT_BUNDLES. */
  entries?: readonly BundleEntry[];
  /** Build DEFAULT_BUNDLES as well. Default true. */
  defaults?: boolean;
  /** One progress line per bundle. Default: stdout. */
  log?: (line: string) => void;
}

export interface BuiltBundle {
  entry: BundleEntry;
  /** Absolute path of the bundle (its source map is `${file}.map`). */
  file: string;
  bytes: number;
  ms: number;
}

export const DEFAULT_OUTDIR = join(PROJECT_ROOT, 'dist');

export const DEFAULT_BUNDLES: readonly BundleEntry[] = [
  { in: 'gateway/src/main.ts', out: 'gateway' },
  { in: 'subgraphs/run.ts', out: 'subgraph' },
  { in: 'scripts/seed.ts', out: 'seed' },
  { in: 'cli/tollgate.ts', out: 'tollgate' },
  { in: 'cli/token.ts', out: 'token' },
];

function insideProject(dir: string): boolean {
  const rel = relative(PROJECT_ROOT, dir);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function displayPath(file: string): string {
  return insideProject(file) ? relative(PROJECT_ROOT, file).split(sep).join('/') : file;
}

export async function buildBundles(options: BuildBundlesOptions = {}): Promise<BuiltBundle[]> {
  const outdir = resolve(PROJECT_ROOT, options.outdir ?? DEFAULT_OUTDIR);
  if (!insideProject(outdir)) {
    throw new Error(
      `the bundles' outdir must be inside the project (${PROJECT_ROOT}), or they cannot find its files at runtime: ${outdir}`,
    );
  }
  const entries = [...(options.defaults === false ? [] : DEFAULT_BUNDLES), ...(options.entries ?? [])];
  const outs = new Set<string>();
  for (const entry of entries) {
    if (outs.has(entry.out)) throw new Error(`two bundles named ${entry.out}`);
    outs.add(entry.out);
  }
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  // esbuild is a development dependency: loaded only when something is built.
  const esbuild = await import('esbuild');
  mkdirSync(outdir, { recursive: true });

  return Promise.all(
    entries.map(async (entry): Promise<BuiltBundle> => {
      const started = performance.now();
      await esbuild.build({
        entryPoints: [{ in: resolve(PROJECT_ROOT, entry.in), out: entry.out }],
        outdir,
        bundle: true,
        platform: 'node',
        target: 'node24',
        format: 'cjs',
        packages: 'external',
        sourcemap: true,
        // Class and function names as in the sources (error names, stack frames), whatever the bundle renames.
        keepNames: true,
        logLevel: 'warning',
        absWorkingDir: PROJECT_ROOT,
      });
      const file = join(outdir, `${entry.out}.js`);
      const built: BuiltBundle = {
        entry,
        file,
        bytes: statSync(file).size,
        ms: Math.round(performance.now() - started),
      };
      log(`built ${displayPath(file)} from ${entry.in} (${(built.bytes / 1024).toFixed(0)} KiB, ${built.ms} ms)`);
      return built;
    }),
  );
}

if (require.main === module) {
  buildBundles().catch((error: unknown) => {
    process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
