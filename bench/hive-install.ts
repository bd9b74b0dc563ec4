/**
 * Hive Gateway for the bench, installed on demand into a prefix of its own (`.data/hive`): it is no dependency of
 * Tollgate, and node_modules is shared with other checkouts. Pinned to one version so runs compare.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HIVE_GATEWAY_VERSION = '2.15.1';

/** The prefix holding `node_modules/@graphql-hive/gateway`, installing it first if missing; undefined if that fails. */
export function ensureHiveGateway(prefix: string, log: (line: string) => void): string | undefined {
  const entry = join(prefix, 'node_modules', '@graphql-hive', 'gateway', 'package.json');
  if (existsSync(entry)) return prefix;
  log(`installing @graphql-hive/gateway@${HIVE_GATEWAY_VERSION} into ${prefix} (once)…`);
  mkdirSync(prefix, { recursive: true });
  if (!existsSync(join(prefix, 'package.json')))
    writeFileSync(join(prefix, 'package.json'), '{"name":"bench-hive","private":true}\n');
  const run = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--save-exact',
      `@graphql-hive/gateway@${HIVE_GATEWAY_VERSION}`,
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 600_000,
    },
  );
  if (run.status !== 0 || !existsSync(entry)) {
    log('could not install @graphql-hive/gateway: the Hive runs are skipped');
    return undefined;
  }
  return prefix;
}
