/**
 * A gateway as a real process (`node --import tsx gateway/src/main.ts`), configured by its environment alone, for
 * tests about what several processes do together or what one does across an outage. Its log lines are kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(__dirname, '..', '..', '..');

export interface GatewayProcess {
  /** The /graphql URL. */
  url: string;
  child: ChildProcess;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  /** SIGTERM, resolved when the process has exited (after its graceful shutdown). */
  stop(): Promise<void>;
}

export function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'gateway/src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gateway did not start:\n${JSON.stringify(logs)}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code}:\n${JSON.stringify(logs)}`));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        record = { text: line };
      }
      logs.push(record);
      if (record.msg === 'gateway listening' && typeof record.url === 'string') {
        clearTimeout(timer);
        resolve({ url: record.url, child, logs, stop });
      }
    });
  });
}
