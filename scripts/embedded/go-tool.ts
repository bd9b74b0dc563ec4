/**
 * Builds our small Go programs under tools/<name> into .data/bin, once, and again when their source changes.
 *
 * A tool may patch a module it depends on without vendoring it: files under `tools/<name>/_overlay/` replace (or add
 * to) the files at the same relative paths inside the module named in `tools/<name>/_overlay/MODULE`, built from a
 * patched copy of that module (patchedModuleArgs).
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const DATA_DIR = join(ROOT, '.data');

/**
 * `upstream`: the tool built without its `_overlay` patches (`tollgate-<name>-upstream`), for comparisons with the
 * dependency as released (the bench's before/after of the FerretDB patches).
 */
export interface GoToolOptions {
  upstream?: boolean;
}

export function goToolPath(name: string, options: GoToolOptions = {}): string {
  return join(DATA_DIR, 'bin', `tollgate-${name}${options.upstream ? '-upstream' : ''}`);
}

/** Whether .data/bin holds the tool built from its current sources (no Go needed to use it). */
export function isGoToolCurrent(name: string, options: GoToolOptions = {}): boolean {
  const source = join(ROOT, 'tools', name);
  const binary = goToolPath(name, options);
  return existsSync(binary) && statSync(binary).mtimeMs >= newestMtime(source);
}

/** The newest modification time of any file below `dir` (an overlay file's edit must rebuild the tool too). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesBelow(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/**
 * For a tool with tools/<name>/_overlay: a patched copy of the module (downloaded first, copied out of the module
 * cache, the overlay's files written over it) in .data/build, and a `-modfile` that replaces the module with that
 * copy — the tool's own go.mod and the module cache stay untouched. (`go build -overlay` cannot do this: it refuses
 * to replace files under GOMODCACHE.) Returns the extra `go build` arguments.
 */
function patchedModuleArgs(name: string, source: string): string[] {
  const overlay = join(source, '_overlay');
  if (!existsSync(overlay)) return [];
  const modulePath = readFileSync(join(overlay, 'MODULE'), 'utf8').trim();
  const go = (args: string[]): string => {
    const result = spawnSync('go', args, { cwd: source, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (result.error) throw new Error(`cannot run go (is the Go toolchain installed?): ${result.error.message}`);
    if (result.status !== 0) throw new Error(`go ${args.join(' ')} in tools/${name} failed (${result.status})`);
    return result.stdout.trim();
  };
  go(['mod', 'download', modulePath]);
  const moduleDir = go(['list', '-m', '-f', '{{.Dir}}', modulePath]);
  const build = join(DATA_DIR, 'build');
  const copy = join(build, `${name}-module`);
  rmSync(copy, { recursive: true, force: true });
  cpSync(moduleDir, copy, { recursive: true });
  for (const file of filesBelow(overlay)) {
    if (!file.endsWith('.go')) continue; // MODULE and README.md describe the overlay; they are not part of it
    const target = join(copy, relative(overlay, file));
    rmSync(target, { force: true }); // the module cache's files are read-only, and so are their copies
    copyFileSync(file, target);
  }
  const modfile = join(build, `${name}.go.mod`);
  writeFileSync(modfile, `${readFileSync(join(source, 'go.mod'), 'utf8')}\nreplace ${modulePath} => ${copy}\n`);
  copyFileSync(join(source, 'go.sum'), join(build, `${name}.go.sum`));
  return [`-modfile=${modfile}`];
}

export function buildGoTool(name: string, log: (line: string) => void = () => {}, options: GoToolOptions = {}): string {
  const source = join(ROOT, 'tools', name);
  const binary = goToolPath(name, options);
  if (isGoToolCurrent(name, options)) return binary;
  log(`building tools/${name} (the first build downloads Go modules and takes a minute or two)…`);
  mkdirSync(join(DATA_DIR, 'bin'), { recursive: true });
  const patches = options.upstream ? [] : patchedModuleArgs(name, source);
  const result = spawnSync('go', ['build', ...patches, '-o', binary, '.'], {
    cwd: source,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.error) throw new Error(`cannot run go (is the Go toolchain installed?): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`go build of tools/${name} failed with exit code ${result.status}`);
  return binary;
}

if (require.main === module) {
  // `tsx scripts/embedded/go-tool.ts ferretdb compose-check` builds the named tools (used by .ci/run).
  for (const name of process.argv.slice(2))
    process.stdout.write(`${buildGoTool(name, (l) => process.stdout.write(l + '\n'))}\n`);
}
