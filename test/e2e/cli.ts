/**
 * The `tollgate` CLI run in-process against a real platform (test/e2e/platform.ts), with the environment an operator
 * would give it: the platform's MongoDB, control plane, Redis, internal secret and subgraph URLs.
 */
import { runTollgate } from '../../cli/commands';
import { SUBGRAPH_NAMES } from '../../subgraphs/catalog';
import type { RealPlatform } from './platform';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function cliEnvFor(platform: RealPlatform): NodeJS.ProcessEnv {
  return {
    MONGODB_URI: process.env.TEST_MONGODB_URI,
    CONTROL_DB: platform.controlDbName,
    REDIS_URL: process.env.TEST_REDIS_URL,
    TOLLGATE_INTERNAL_SECRET: platform.internalSecret.toString('hex'),
    ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [`${name.toUpperCase()}_URL`, platform.subgraphs[name].url])),
  };
}

export async function runCli(env: NodeJS.ProcessEnv, args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}
