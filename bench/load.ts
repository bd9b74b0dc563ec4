/**
 * The overhead benchmark's load rounds: autocannon against one gateway while its CPU (per thread too), the other
 * gateway's idle CPU and the platform's CPU are read around it; and the cgroup CPU quota of the capped runs.
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { cpuSeconds, platformCpu, threadCpu, threadDelta } from './cpu';
import { CONNECTIONS, DURATION_S, say, type GatewayName, type Scenario } from './settings';

/** `free`: each gateway may use its whole core. `capped`: held to CPU_SHARE of it, so that its own CPU sets its pace. */
export type LoadMode = 'free' | 'capped';

export interface Round {
  scenario: string;
  mode: LoadMode;
  gateway: GatewayName;
  round: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpuMsPerRequest: number;
  /** The same, per thread name of the gateway process. */
  cpuMsPerRequestByThread: Record<string, number>;
  /** CPU ms per request of the rest of the platform during the round: where the other core's time goes. */
  platformCpuMsPerRequest: Record<string, number>;
  /** Busy share of the platform's core (subgraphs + FerretDB + load generator) during the round, 0–1. */
  platformCoreBusy: number;
  /** CPU ms per second the other gateway spent meanwhile, with no load of its own: what it costs to keep running. */
  otherGatewayIdleCpuMsPerS: number;
}

export interface RunningGateway {
  url: string;
  pid: number;
}

/** `scenario` against one gateway for `durationS` seconds, BENCH_CONNECTIONS connections. */
export async function load(url: string, scenario: Scenario, gateway: GatewayName, durationS: number) {
  return autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: durationS,
    headers: { 'content-type': 'application/json', ...scenario.headers[gateway] },
    body: scenario.bodies?.[gateway] ?? scenario.body,
  });
}

export interface MeasureOptions {
  gatewayOf: (name: GatewayName) => RunningGateway;
  /**
   * The processes that serve `gateway`, by role (subgraphs, ferretdb, loadgen, redis): the same for every gateway
   * but `tollgate-legacy`, whose data tier is its own.
   */
  platformOf: (gateway: GatewayName) => Record<string, number[]>;
}

/** One measured round of BENCH_DURATION_S seconds: loads `gateway` and reads the CPU of everything around it. */
export async function measureRound(
  { gatewayOf, platformOf }: MeasureOptions,
  scenario: Scenario,
  mode: LoadMode,
  round: number,
  gateway: GatewayName,
): Promise<Round> {
  const { url, pid } = gatewayOf(gateway);
  const platform = platformOf(gateway);
  // The idle cost is measured on one other gateway, unloaded meanwhile.
  const otherPid = gatewayOf(gateway === 'bare' ? 'tollgate' : 'bare').pid;
  const otherBefore = cpuSeconds(otherPid);
  const before = cpuSeconds(pid);
  const threadsBefore = threadCpu(pid);
  const platformBefore = platformCpu(platform);
  const result = await load(url, scenario, gateway, DURATION_S);
  const cpu = cpuSeconds(pid) - before;
  const otherIdle = cpuSeconds(otherPid) - otherBefore;
  const threadsAfter = threadCpu(pid);
  const platformAfter = platformCpu(platform);
  const requests = result.requests.total;
  const platformCpuMsPerRequest: Record<string, number> = {};
  for (const role of Object.keys(platform)) {
    platformCpuMsPerRequest[role] = Number(
      (((platformAfter[role]! - platformBefore[role]!) * 1_000) / Math.max(1, requests)).toFixed(3),
    );
  }
  const corePlatformS = ['subgraphs', 'ferretdb', 'loadgen'].reduce(
    (sum, role) => sum + platformAfter[role]! - platformBefore[role]!,
    0,
  );
  const r: Round = {
    scenario: scenario.name,
    mode,
    gateway,
    round,
    requests,
    rps: requests / DURATION_S,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuMsPerRequest: (cpu * 1_000) / Math.max(1, requests),
    cpuMsPerRequestByThread: threadDelta(threadsBefore, threadsAfter, requests),
    platformCpuMsPerRequest,
    platformCoreBusy: Number((corePlatformS / DURATION_S).toFixed(2)),
    otherGatewayIdleCpuMsPerS: Number(((otherIdle * 1_000) / DURATION_S).toFixed(2)),
  };
  say(
    `${scenario.name} · ${mode} · ${gateway} · round ${round}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cpuMsPerRequest.toFixed(3)} ms CPU/req, non-2xx ${r.non2xx}, errors ${r.errors}; by thread ${JSON.stringify(r.cpuMsPerRequestByThread)}; platform CPU ms/req ${JSON.stringify(r.platformCpuMsPerRequest)}, its core ${(r.platformCoreBusy * 100).toFixed(0)} % busy`,
  );
  return r;
}

/**
 * Holds a process to `share` of one core with a CPU-bandwidth cgroup (v1 `cpu.cfs_quota_us`, or v2 `cpu.max`).
 * Undefined where no writable CPU controller exists (not root, no cgroup fs): the capped runs are then skipped.
 */
export function capCpu(name: string, pid: number, share: number): { release(): void } | undefined {
  const periodUs = 100_000;
  const quotaUs = Math.max(1_000, Math.round(share * periodUs));
  const v1 = '/sys/fs/cgroup/cpu';
  const [root, limit] = existsSync(join(v1, 'cpu.cfs_quota_us'))
    ? [
        v1,
        (dir: string) => (
          writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs)),
          writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs))
        ),
      ]
    : ['/sys/fs/cgroup', (dir: string) => writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${periodUs}`)];
  const dir = join(root, `tollgate-bench-${name}`);
  try {
    mkdirSync(dir, { recursive: true });
    limit(dir);
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      // never created
    }
    return undefined;
  }
  return {
    release() {
      try {
        writeFileSync(join(root, 'cgroup.procs'), String(pid));
      } catch {
        // the process is gone
      }
      rmdirSync(dir);
    },
  };
}
