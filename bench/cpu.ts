/**
 * What the overhead benchmark reads of its processes from /proc: CPU seconds of a process, per thread name, and of
 * the platform by role; peak RSS. Linux only, as the benchmark is.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds per thread name (main thread = the process name, V8 workers, libuv pool…) of a process. */
export function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLK_TCK);
    } catch {
      // the thread ended in between
    }
  }
  return byName;
}

/** CPU ms per request of each thread name between two `threadCpu` readings; threads that spent nothing are left out. */
export function threadDelta(
  before: Map<string, number>,
  after: Map<string, number>,
  requests: number,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, seconds] of after) {
    const ms = ((seconds - (before.get(name) ?? 0)) * 1_000) / Math.max(1, requests);
    if (ms > 0) delta[name] = Number(ms.toFixed(3));
  }
  return delta;
}

/** CPU seconds of the processes that serve every gateway alike, by role. A process that is gone counts 0. */
export function platformCpu(pids: Record<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, list] of Object.entries(pids)) {
    out[role] = list.reduce((sum, pid) => {
      try {
        return sum + cpuSeconds(pid);
      } catch {
        return sum;
      }
    }, 0);
  }
  return out;
}

export function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
