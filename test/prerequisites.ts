/**
 * What the integration tests need from the machine, beyond `npm install`: the Go toolchain (it builds the embedded
 * FerretDB and the compose checker), redis-server (when no Redis answers), and Debian's Chromium (the explorer's
 * browser tests drive /usr/bin/chromium with playwright-core, never a downloaded browser).
 *
 * The test setup installs what is missing with apt-get when it can (root, apt-get on the PATH, not turned off with
 * TOLLGATE_TEST_INSTALL=0), printing each command before it runs it. When it cannot, or the install fails, it stops
 * the run with an error that names exactly what to install: a test is never skipped for a missing tool.
 *
 *   import { ensurePrerequisite, CHROMIUM } from './prerequisites';
 *   ensurePrerequisite(CHROMIUM, { log: (line) => process.stderr.write(line + '\n') });
 *
 * A prerequisite without apt packages (Go: Debian bookworm's golang-go is 1.19, older than tools/ferretdb needs)
 * is never installed: the error says where to get it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Prerequisite {
  /** What is missing, as a person would name it: "Chromium (/usr/bin/chromium)". */
  readonly name: string;
  /** Which tests need it, for the message. */
  readonly neededBy: string;
  /** Whether the machine already has it; a reason when it does not ("go1.19 is older than 1.22"). */
  readonly check: () => { ok: true } | { ok: false; reason: string };
  /** Debian packages that provide it; empty when apt cannot (the message then says what to do instead). */
  readonly aptPackages: readonly string[];
  /** What a person should do when the setup cannot install it. */
  readonly manual: string;
}

/** How the setup runs a command: the real one spawns it with its output on the terminal. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
) => { status: number | null; error?: Error };

export interface EnsureOptions {
  /** Progress lines (each command before it runs). Default: stderr. */
  log?: (line: string) => void;
  /** Runs apt-get. Default: spawnSync with inherited output. */
  run?: CommandRunner;
  /** Whether this process may install Debian packages. Default: root, apt-get present, TOLLGATE_TEST_INSTALL not 0. */
  canInstall?: boolean;
  /** Whether `apt-get update` has run. Default: one state for the process. */
  aptLists?: { updated: boolean };
}

const runInheriting: CommandRunner = (command, args, env) => {
  // stdout goes to stderr as well: under `jest --json` stdout carries the JSON report.
  const result = spawnSync(command, args, { stdio: ['ignore', 2, 2], env: env ?? process.env });
  return result.error ? { status: result.status, error: result.error } : { status: result.status };
};

function commandWorks(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

export function mayInstallPackages(): boolean {
  if (process.env.TOLLGATE_TEST_INSTALL === '0') return false;
  return process.getuid?.() === 0 && commandWorks('apt-get', ['--version']);
}

/** `apt-get update` runs at most once per process: a fresh image has no package lists, a second update adds nothing. */
const processAptLists = { updated: false };

/** Makes sure the prerequisite is there, installing it when allowed; throws an error that says what to install. */
export function ensurePrerequisite(prerequisite: Prerequisite, options: EnsureOptions = {}): void {
  const first = prerequisite.check();
  if (first.ok) return;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const run = options.run ?? runInheriting;
  const canInstall = options.canInstall ?? mayInstallPackages();
  const missing = `${prerequisite.name} is needed by ${prerequisite.neededBy}, and ${first.reason}`;
  const packages = prerequisite.aptPackages;
  if (packages.length === 0) throw new Error(`${missing}. ${prerequisite.manual}`);
  const install = `apt-get install -y ${packages.join(' ')}`;
  if (!canInstall) {
    throw new Error(
      `${missing}. Install it as root: \`apt-get update && ${install}\` (or: ${prerequisite.manual}), then run the tests again.`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lists = options.aptLists ?? processAptLists;
  if (!lists.updated) {
    log(`test setup: ${missing}; installing it: apt-get update`);
    const update = run('apt-get', ['update', '-qq'], env);
    if (update.status !== 0) {
      throw new Error(
        `${missing}. \`apt-get update\` failed (${update.error?.message ?? `exit code ${update.status}`}; is the network up?): install it with \`${install}\`, then run the tests again.`,
      );
    }
    lists.updated = true;
  }
  log(`test setup: ${install}`);
  const result = run('apt-get', ['install', '-y', '-qq', ...packages], env);
  if (result.status !== 0) {
    throw new Error(
      `${missing}. \`${install}\` failed (${result.error?.message ?? `exit code ${result.status}`}): install it yourself, then run the tests again.`,
    );
  }
  const after = prerequisite.check();
  if (!after.ok) throw new Error(`${missing}. \`${install}\` succeeded but ${after.reason}: ${prerequisite.manual}`);
  log(`test setup: ${prerequisite.name} installed`);
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM: Prerequisite = {
  name: `Chromium (${CHROMIUM_PATH})`,
  neededBy: "the explorer's browser tests (*.browser.test.ts)",
  check: () => (existsSync(CHROMIUM_PATH) ? { ok: true } : { ok: false, reason: `${CHROMIUM_PATH} is missing` }),
  aptPackages: ['chromium'],
  manual: "Debian's chromium package, which installs /usr/bin/chromium",
};

export const REDIS_SERVER: Prerequisite = {
  name: 'redis-server',
  neededBy: 'the integration tests (no Redis answers at REDIS_URL, and the setup starts one on 127.0.0.1:6379)',
  check: () =>
    commandWorks('redis-server', ['--version']) ? { ok: true } : { ok: false, reason: 'redis-server is not installed' },
  aptPackages: ['redis-server'],
  manual: 'a Redis at REDIS_URL, or redis-server on the PATH',
};

/** The oldest Go that builds every tool under tools/ (the highest `go` line of their go.mod files). */
export function requiredGoVersion(root: string, tools: readonly string[]): string {
  const versions = tools.map(
    (tool) =>
      /^go (\d+\.\d+(?:\.\d+)?)$/m.exec(readFileSync(join(root, 'tools', tool, 'go.mod'), 'utf8'))?.[1] ?? '1.0',
  );
  return versions.sort(compareVersions).at(-1) ?? '1.0';
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Reads `go version` ("go version go1.26.8 linux/amd64" → "1.26.8"); undefined when go does not run. */
export function installedGoVersion(): string | undefined {
  const result = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return /^go(\d+(?:\.\d+)*)/.exec(result.stdout.trim())?.[1];
}

export function goToolchain(required: string, installed: () => string | undefined = installedGoVersion): Prerequisite {
  return {
    name: `Go ≥ ${required}`,
    neededBy: 'the integration tests (it builds the embedded FerretDB and the compose checker under tools/)',
    check: () => {
      const version = installed();
      if (version === undefined) return { ok: false, reason: '`go` is not on the PATH' };
      return compareVersions(version, required) >= 0 ? { ok: true } : { ok: false, reason: `\`go\` is go${version}` };
    },
    // Debian bookworm's golang-go is 1.19; Go's own tarball is the dependable source.
    aptPackages: [],
    manual: `Install Go ${required} or later from https://go.dev/dl/ (unpack the linux tarball into /usr/local and put /usr/local/go/bin on the PATH); the first build also downloads Go modules through the Go module proxy.`,
  };
}
