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

export interface ExplorerManifest {
  /** File names under the assets folder. */
  readonly script: string;
  readonly stylesheet: string;
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
    entryPoints: [join(CLIENT_DIR, 'main.tsx')],
    outdir: join(outdir, ASSETS_DIR),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    jsx: 'automatic',
    entryNames: 'explorer-[hash]',
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.woff2': 'file', '.woff': 'file', '.svg': 'file' },
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((file) => file.endsWith('.js'));
  const stylesheet = outputs.find((file) => file.endsWith('.css'));
  if (!script || !stylesheet) throw new Error('the explorer build produced no script or no stylesheet');
  const manifest: ExplorerManifest = { script, stylesheet, source };
  const pending = join(outdir, `${MANIFEST}.${process.pid}`);
  writeFileSync(pending, JSON.stringify(manifest));
  renameSync(pending, join(outdir, MANIFEST));
  return manifest;
}

function readManifest(outdir: string): ExplorerManifest | undefined {
  const file = join(outdir, MANIFEST);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ExplorerManifest) : undefined;
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
