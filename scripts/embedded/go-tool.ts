/** Builds our small Go programs under tools/<name> into .data/bin, once, and again when their source changes. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const DATA_DIR = join(ROOT, '.data');

export function goToolPath(name: string): string {
  return join(DATA_DIR, 'bin', `tollgate-${name}`);
}

/** Whether .data/bin holds the tool built from its current sources (no Go needed to use it). */
export function isGoToolCurrent(name: string): boolean {
  const source = join(ROOT, 'tools', name);
  const binary = goToolPath(name);
  const newestSource = Math.max(...readdirSync(source).map((f) => statSync(join(source, f)).mtimeMs));
  return existsSync(binary) && statSync(binary).mtimeMs >= newestSource;
}

export function buildGoTool(name: string, log: (line: string) => void = () => {}): string {
  const source = join(ROOT, 'tools', name);
  const binary = goToolPath(name);
  if (isGoToolCurrent(name)) return binary;
  log(`building tools/${name} (the first build downloads Go modules and takes a minute or two)…`);
  mkdirSync(join(DATA_DIR, 'bin'), { recursive: true });
  const result = spawnSync('go', ['build', '-o', binary, '.'], {
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
