/**
 * One real subgraph as a process (`node --import tsx subgraphs/run.ts <name>`), as deployed: production mode, only
 * verifying its indexes (`tollgate migrate` made them), started once it logs `listening`. Tests only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deriveSubgraphKey } from '../../common/internal-token';
import { loadOrCreateDevMasterKey } from '../../common/master-key';
import type { SubgraphName } from '../../subgraphs/catalog';

const ROOT = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 60_000;

export interface SubgraphProcess {
  /** Its /graphql URL. */
  url: string;
  child: ChildProcess;
  /** Every line it logged. */
  logs: string[];
  exited: Promise<number | null>;
}

export interface SubgraphProcessOptions {
  mongoUri: string;
  dbName: string;
  /** The gateway's internal secret: the subgraph gets the key derived from it for its name. */
  secret: Buffer;
  /** More environment (SHUTDOWN_DELAY_MS, say). */
  env?: Record<string, string>;
}

/** Resolves once listening; rejects with its log if it exits first or does not start in time. */
export function startSubgraphProcess(name: SubgraphName, options: SubgraphProcessOptions): Promise<SubgraphProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'subgraphs/run.ts'), name], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: '0',
      MONGODB_URI: options.mongoUri,
      MONGODB_DB: options.dbName,
      TOLLGATE_INTERNAL_KEY: deriveSubgraphKey(options.secret, name).toString('hex'),
      // Production requires a master key while encryption is on: the development one, which the seeder and the
      // CLI of these tests (not in production) seal with.
      ENCRYPTION_MASTER_KEY: loadOrCreateDevMasterKey().toString('hex'),
      // `listening` is logged at info.
      LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`subgraph ${name} did not start:\n${logs.join('\n')}`));
    }, START_TIMEOUT_MS);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`subgraph ${name} exited with ${code}:\n${logs.join('\n')}`));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line);
      let record: { msg?: unknown; url?: unknown };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        return;
      }
      if (record.msg === 'listening' && typeof record.url === 'string') {
        clearTimeout(timer);
        resolve({ url: record.url, child, logs, exited });
      }
    });
  });
}

/** SIGTERM; resolves with the exit code. */
export function stopSubgraphProcess(subgraph: SubgraphProcess | undefined): Promise<number | null> {
  if (!subgraph) return Promise.resolve(null);
  if (subgraph.child.exitCode === null && subgraph.child.signalCode === null) subgraph.child.kill('SIGTERM');
  return subgraph.exited;
}
