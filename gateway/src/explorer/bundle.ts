/**
 * The explorer's browser bundle: client/ compiled by esbuild into content-hashed files under `.data/explorer/`
 * (git-ignored), with a manifest naming them and the sources they were built from. `npm run build:explorer` builds
 * it; a gateway with the explorer on builds it at start when it is missing or its sources changed, so a fresh clone
 * (and `npm start` after a pull) works without a separate step. A build adds files and replaces the manifest last,
 * so a gateway serving the previous bundle keeps finding its files. esbuild is a development dependency: a
 * production image that turns the explorer on ships a bundle built beforehand.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PROJECT_ROOT } from '../../../common/paths';

export const EXPLORER_DIST = join(PROJECT_ROOT, '.data', 'explorer');
/** Under the dist folder: what the gateway serves, and nothing else (the manifest stays beside it). */
export const ASSETS_DIR = 'assets';
const MANIFEST = 'manifest.json';
const CLIENT_DIR = join(PROJECT_ROOT, 'gateway', 'src', 'explorer', 'client');
/** Output names of Monaco's workers (before their content hash). */
const WORKERS = { editorWorker: 'editor-worker', jsonWorker: 'json-worker', graphqlWorker: 'graphql-worker' } as const;

export interface ExplorerManifest {
  /** File names under the assets folder. */
  readonly script: string;
  readonly stylesheet: string;
  /** Monaco's web workers, bundled on their own (client/workers.ts starts them from these). */
  readonly workers: { readonly editorWorker: string; readonly jsonWorker: string; readonly graphqlWorker: string };
  /** SHA-256 of the client sources and GraphiQL's version, to tell a stale bundle. */
  readonly source: string;
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(CLIENT_DIR).sort()) hash.update(file).update(readFileSync(join(CLIENT_DIR, file)));
  hash.update(readFileSync(require.resolve('graphiql/package.json')));
  return hash.digest('hex');
}

export async function buildExplorer(outdir = EXPLORER_DIST): Promise<ExplorerManifest> {
  const esbuild = await import('esbuild');
  const source = sourceHash();
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    // The page's script, and Monaco's workers, each a classic script started with `new Worker(url)` from 'self'.
    entryPoints: {
      explorer: join(CLIENT_DIR, 'main.tsx'),
      [WORKERS.editorWorker]: require.resolve('monaco-editor/esm/vs/editor/editor.worker.js'),
      [WORKERS.jsonWorker]: require.resolve('monaco-editor/esm/vs/language/json/json.worker.js'),
      [WORKERS.graphqlWorker]: require.resolve('monaco-graphql/esm/graphql.worker.js'),
    },
    outdir: join(outdir, ASSETS_DIR),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    jsx: 'automatic',
    entryNames: '[name]-[hash]',
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.woff2': 'file', '.woff': 'file', '.svg': 'file', '.ttf': 'file' },
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const named = (name: string, ext: string) =>
    outputs.find((file) => file.startsWith(`${name}-`) && file.endsWith(ext));
  const script = named('explorer', '.js');
  const stylesheet = named('explorer', '.css');
  const editorWorker = named(WORKERS.editorWorker, '.js');
  const jsonWorker = named(WORKERS.jsonWorker, '.js');
  const graphqlWorker = named(WORKERS.graphqlWorker, '.js');
  if (!script || !stylesheet || !editorWorker || !jsonWorker || !graphqlWorker)
    throw new Error('the explorer build produced no script, stylesheet or worker');
  const manifest: ExplorerManifest = {
    script,
    stylesheet,
    workers: { editorWorker, jsonWorker, graphqlWorker },
    source,
  };
  const pending = join(outdir, `${MANIFEST}.${process.pid}`);
  writeFileSync(pending, JSON.stringify(manifest));
  renameSync(pending, join(outdir, MANIFEST));
  return manifest;
}

function readManifest(outdir: string): ExplorerManifest | undefined {
  const file = join(outdir, MANIFEST);
  if (!existsSync(file)) return undefined;
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Partial<ExplorerManifest>;
  // A manifest from before the workers (GraphiQL 3) is a bundle this page cannot run: rebuilt like a stale one.
  return manifest.workers ? (manifest as ExplorerManifest) : undefined;
}

/**
 * The manifest of the bundle on disk, built first when there is none or its sources changed. Where it cannot be
 * built (an image without the development dependencies), a bundle shipped on disk is served as it is.
 */
export async function loadOrBuildExplorer(outdir = EXPLORER_DIST): Promise<ExplorerManifest> {
  const existing = readManifest(outdir);
  try {
    if (existing?.source === sourceHash()) return existing;
    return await buildExplorer(outdir);
  } catch (error) {
    if (existing) return existing;
    throw new Error('the explorer bundle is missing and could not be built (run npm run build:explorer)', {
      cause: error,
    });
  }
}
