/**
 * The test setup's decisions about a missing tool: install it with apt-get when allowed (printing each command),
 * otherwise stop with a message that names what to install. apt-get itself is replaced by a recorder here; the real
 * install is exercised on a machine without Chromium (README, Tests).
 */
import { join } from 'node:path';
import {
  CHROMIUM,
  compareVersions,
  ensurePrerequisite,
  goToolchain,
  requiredGoVersion,
  type CommandRunner,
  type Prerequisite,
} from './prerequisites';

const ROOT = join(__dirname, '..');

function missingUntilInstalled(packages: string[] = ['chromium']): { prerequisite: Prerequisite; install: () => void } {
  let installed = false;
  return {
    prerequisite: {
      name: 'Chromium (/usr/bin/chromium)',
      neededBy: 'the browser tests',
      check: () => (installed ? { ok: true } : { ok: false, reason: '/usr/bin/chromium is missing' }),
      aptPackages: packages,
      manual: "Debian's chromium package",
    },
    install: () => {
      installed = true;
    },
  };
}

function recorder(outcome: (args: readonly string[]) => number, onInstall: () => void = () => {}) {
  const calls: string[] = [];
  const run: CommandRunner = (command, args, env) => {
    calls.push(`${command} ${args.join(' ')} [${env?.DEBIAN_FRONTEND ?? ''}]`);
    const status = outcome(args);
    if (status === 0 && args[0] === 'install') onInstall();
    return { status };
  };
  return { run, calls };
}

test('a prerequisite that is there runs nothing and prints nothing', () => {
  const { run, calls } = recorder(() => 0);
  const lines: string[] = [];
  const present: Prerequisite = { ...missingUntilInstalled().prerequisite, check: () => ({ ok: true }) };
  ensurePrerequisite(present, { run, log: (l) => lines.push(l), canInstall: true, aptLists: { updated: false } });
  expect(calls).toEqual([]);
  expect(lines).toEqual([]);
});

test('as root it updates the package lists once, installs the package non-interactively and says so', () => {
  const { prerequisite, install } = missingUntilInstalled();
  const { run, calls } = recorder(() => 0, install);
  const lines: string[] = [];
  const aptLists = { updated: false };
  ensurePrerequisite(prerequisite, { run, log: (l) => lines.push(l), canInstall: true, aptLists });
  expect(calls).toEqual(['apt-get update -qq [noninteractive]', 'apt-get install -y -qq chromium [noninteractive]']);
  expect(lines.join('\n')).toContain('apt-get install -y chromium');
  expect(lines.at(-1)).toBe('test setup: Chromium (/usr/bin/chromium) installed');
  expect(aptLists.updated).toBe(true);

  // A second missing package in the same run does not update the lists again.
  const second = missingUntilInstalled(['redis-server']);
  const again = recorder(() => 0, second.install);
  ensurePrerequisite(second.prerequisite, { run: again.run, log: () => {}, canInstall: true, aptLists });
  expect(again.calls).toEqual(['apt-get install -y -qq redis-server [noninteractive]']);
});

test('without the right to install it stops with the exact command, and runs nothing', () => {
  const { prerequisite } = missingUntilInstalled();
  const { run, calls } = recorder(() => 0);
  expect(() =>
    ensurePrerequisite(prerequisite, { run, log: () => {}, canInstall: false, aptLists: { updated: false } }),
  ).toThrow(
    'Chromium (/usr/bin/chromium) is needed by the browser tests, and /usr/bin/chromium is missing. Install it as root: `apt-get update && apt-get install -y chromium`',
  );
  expect(calls).toEqual([]);
});

test('a failed package-list update (no network) stops the run and names the package', () => {
  const { prerequisite } = missingUntilInstalled();
  const { run, calls } = recorder(() => 100);
  expect(() =>
    ensurePrerequisite(prerequisite, { run, log: () => {}, canInstall: true, aptLists: { updated: false } }),
  ).toThrow(
    /`apt-get update` failed \(exit code 100; is the network up\?\): install it with `apt-get install -y chromium`/,
  );
  expect(calls).toHaveLength(1);
});

test('a failed install stops the run, and so does an install that did not provide the tool', () => {
  const failing = recorder((args) => (args[0] === 'install' ? 100 : 0));
  expect(() =>
    ensurePrerequisite(missingUntilInstalled().prerequisite, {
      run: failing.run,
      log: () => {},
      canInstall: true,
      aptLists: { updated: false },
    }),
  ).toThrow(/`apt-get install -y chromium` failed \(exit code 100\): install it yourself/);

  const useless = recorder(() => 0);
  expect(() =>
    ensurePrerequisite(missingUntilInstalled().prerequisite, {
      run: useless.run,
      log: () => {},
      canInstall: true,
      aptLists: { updated: false },
    }),
  ).toThrow(/`apt-get install -y chromium` succeeded but \/usr\/bin\/chromium is missing/);
});

test('Go is never installed with apt (Debian bookworm ships 1.19): the message says where to get which version', () => {
  const { run, calls } = recorder(() => 0);
  const options = { run, log: () => {}, canInstall: true, aptLists: { updated: false } };
  expect(() =>
    ensurePrerequisite(
      goToolchain('1.22', () => undefined),
      options,
    ),
  ).toThrow(
    /^Go ≥ 1\.22 is needed by the integration tests .*, and `go` is not on the PATH\. Install Go 1\.22 or later from https:\/\/go\.dev\/dl\//,
  );
  expect(() =>
    ensurePrerequisite(
      goToolchain('1.22', () => '1.19.8'),
      options,
    ),
  ).toThrow(/`go` is go1\.19\.8\. Install Go 1\.22 or later/);
  expect(() =>
    ensurePrerequisite(
      goToolchain('1.22', () => '1.22'),
      options,
    ),
  ).not.toThrow();
  expect(() =>
    ensurePrerequisite(
      goToolchain('1.24', () => '1.26.8'),
      options,
    ),
  ).not.toThrow();
  expect(calls).toEqual([]);
});

test('the Go version asked for is the highest go line of the tools to build', () => {
  expect(requiredGoVersion(ROOT, ['ferretdb'])).toBe('1.22');
  expect(requiredGoVersion(ROOT, ['ferretdb', 'compose-check'])).toBe('1.24');
  expect(compareVersions('1.9', '1.22')).toBeLessThan(0);
  expect(compareVersions('1.22.0', '1.22')).toBe(0);
  expect(compareVersions('1.26.8', '1.24')).toBeGreaterThan(0);
});

test('Chromium is looked for where the browser tests launch it, and comes from the chromium package', () => {
  expect(CHROMIUM.name).toContain('/usr/bin/chromium');
  expect(CHROMIUM.aptPackages).toEqual(['chromium']);
});
