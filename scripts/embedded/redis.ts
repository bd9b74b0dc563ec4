/** Makes sure a Redis answers: uses the configured one, or starts a local redis-server when one is installed. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { isPortOpen } from './ferretdb';

export interface RedisHandle {
  url: string;
  /** Set when we started redis-server ourselves and must stop it. */
  process?: ChildProcess;
  stop(): Promise<void>;
}

export async function ensureRedis(url: string, log: (line: string) => void = () => {}): Promise<RedisHandle> {
  const parsed = new URL(url);
  const host = parsed.hostname || '127.0.0.1';
  const port = Number(parsed.port || 6379);
  if (await isPortOpen(host, port)) return { url, stop: async () => {} };
  const local = host === '127.0.0.1' || host === 'localhost';
  const installed = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!local || !installed) {
    const hint = local
      ? ' and redis-server is not installed (apt-get install -y redis-server)'
      : ' (is REDIS_URL right?)';
    throw new Error(`Redis at ${host}:${port} does not answer${hint}`);
  }
  log(`starting redis-server on ${host}:${port}`);
  const child = spawn('redis-server', ['--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  while (!(await isPortOpen(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
