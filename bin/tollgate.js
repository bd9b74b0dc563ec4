#!/usr/bin/env node
/**
 * The `tollgate` command (package.json `bin`): `npx tollgate …` in a checkout, `tollgate …` in the Docker image.
 * It runs the TypeScript sources through tsx where they are (a checkout: never a stale bundle), else the bundle
 * `npm run build` wrote (dist/tollgate.js: the image has no sources and no tsx). Either way the usage text names
 * the command `tollgate` (TOLLGATE_PROGRAM, read by cli/tollgate.ts).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const source = join(root, 'cli', 'tollgate.ts');
const bundle = join(root, 'dist', 'tollgate.js');
process.env.TOLLGATE_PROGRAM = 'tollgate';

/** tsx's loader, resolved from the project: `--import tsx` alone would resolve it from the caller's directory. */
function tsxLoader() {
  try {
    return pathToFileURL(require.resolve('tsx', { paths: [root] })).href;
  } catch {
    return undefined;
  }
}

const loader = existsSync(source) ? tsxLoader() : undefined;
if (loader) {
  const run = spawnSync(process.execPath, ['--import', loader, source, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} else if (existsSync(bundle)) {
  require(bundle);
} else {
  process.stderr.write('tollgate: neither the sources with tsx nor dist/tollgate.js (npm run build) are here\n');
  process.exitCode = 1;
}
