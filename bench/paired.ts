/**
 * The cost of one feature as a ratio of gateway CPU per request, measured on two gateways loaded at the same time.
 *
 * Why not the A B A B rounds of load.ts: on this shared 2-vCPU VM what runs beside a round (the other hyperthread, a
 * neighbour's tests) moves a gateway's CPU per request by ±40 % from one round to the next (2026-12-07: plain
 * Tollgate capped gave 4.1, 3.0 and 6.5 ms in three rounds), far more than the 10 % a feature may cost. Here the
 * plain gateway and the one with the feature on (metrics + 10 % tracing, or metering + audit) run side by side on the
 * same core, under the same load, over the same seconds, against the same data tier: whatever else the machine does
 * weighs on both alike, and their ratio keeps only what tells them apart. Each round's ratio is net of each
 * gateway's idle CPU, read over a quiet window just before; the figure is the median of the rounds' ratios, with
 * their range.
 */
import autocannon from 'autocannon';
import { cpuSeconds, median } from './cpu';
import { CONNECTIONS, say, type GatewayName, type Scenario } from './settings';
import type { RunningGateway } from './load';

export interface PairedRound {
  scenario: string;
  base: GatewayName;
  variant: GatewayName;
  round: number;
  /** Net CPU ms per request of each, and the variant's over the base's. */
  baseNetCpuMs: number;
  variantNetCpuMs: number;
  ratio: number;
  baseRps: number;
  variantRps: number;
  failed: number;
}

export interface PairedSummary {
  scenario: string;
  base: GatewayName;
  variant: GatewayName;
  rounds: number;
  baseNetCpuMs: number;
  variantNetCpuMs: number;
  /** Median of the rounds' ratios, and their range. */
  ratio: number;
  minRatio: number;
  maxRatio: number;
  failed: number;
}

export interface PairedOptions {
  gatewayOf: (name: GatewayName) => RunningGateway;
  pairs: readonly (readonly [base: GatewayName, variant: GatewayName])[];
  scenarios: readonly Scenario[];
  rounds: number;
  durationS: number;
  /** The quiet window before each round over which idle CPU is read. */
  idleS?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function loadOne(gateway: RunningGateway, name: GatewayName, scenario: Scenario, durationS: number) {
  return autocannon({
    url: gateway.url,
    method: 'POST',
    // Half each: together the data tier sees the load of one gateway in the other rounds.
    connections: Math.max(1, Math.floor(CONNECTIONS / 2)),
    duration: durationS,
    headers: { 'content-type': 'application/json', ...scenario.headers[name] },
    body: scenario.bodies?.[name] ?? scenario.body,
  });
}

/** One round: idle CPU of both over a quiet window, then both loaded at once. */
async function pairedRound(
  options: PairedOptions,
  scenario: Scenario,
  base: GatewayName,
  variant: GatewayName,
  round: number,
): Promise<PairedRound> {
  const idleS = options.idleS ?? 3;
  const [b, v] = [options.gatewayOf(base), options.gatewayOf(variant)];
  const idleBefore = [cpuSeconds(b.pid), cpuSeconds(v.pid)];
  await sleep(idleS * 1_000);
  const idleRate = [(cpuSeconds(b.pid) - idleBefore[0]!) / idleS, (cpuSeconds(v.pid) - idleBefore[1]!) / idleS];
  const before = [cpuSeconds(b.pid), cpuSeconds(v.pid)];
  const started = performance.now();
  const [rb, rv] = await Promise.all([
    loadOne(b, base, scenario, options.durationS),
    loadOne(v, variant, scenario, options.durationS),
  ]);
  const seconds = (performance.now() - started) / 1_000;
  const net = (i: 0 | 1, requests: number, pid: number) =>
    ((cpuSeconds(pid) - before[i]! - idleRate[i]! * seconds) * 1_000) / Math.max(1, requests);
  const baseNetCpuMs = net(0, rb.requests.total, b.pid);
  const variantNetCpuMs = net(1, rv.requests.total, v.pid);
  const r: PairedRound = {
    scenario: scenario.name,
    base,
    variant,
    round,
    baseNetCpuMs,
    variantNetCpuMs,
    ratio: variantNetCpuMs / baseNetCpuMs,
    baseRps: rb.requests.total / seconds,
    variantRps: rv.requests.total / seconds,
    failed: rb.non2xx + rb.errors + rb.timeouts + rv.non2xx + rv.errors + rv.timeouts,
  };
  say(
    `${scenario.name} · paired · ${variant} / ${base} · ${round === 0 ? 'warm-up' : `round ${round}`}: ${r.variantNetCpuMs.toFixed(3)} / ${r.baseNetCpuMs.toFixed(3)} ms net CPU/req = ${r.ratio.toFixed(3)}× (${r.variantRps.toFixed(0)} and ${r.baseRps.toFixed(0)} req/s, failed ${r.failed})`,
  );
  return r;
}

export async function pairedOverhead(
  options: PairedOptions,
): Promise<{ rounds: PairedRound[]; summary: PairedSummary[] }> {
  const rounds: PairedRound[] = [];
  for (const scenario of options.scenarios)
    for (const [base, variant] of options.pairs) {
      // Round 0 is not counted: the first seconds of a pair's load still show JIT compilation and caches filling
      // (2026-12-07: the ratios of rounds 1–5 of one pair drifted 0.49× → 0.89× without it).
      for (let round = 0; round <= options.rounds; round += 1) {
        const r = await pairedRound(options, scenario, base, variant, round);
        if (round > 0) rounds.push(r);
      }
    }
  return { rounds, summary: summarisePaired(rounds) };
}

/** Per scenario and pair: the median of the rounds' ratios (each round is its own like-for-like comparison). */
export function summarisePaired(rounds: readonly PairedRound[]): PairedSummary[] {
  const groups = new Map<string, PairedRound[]>();
  for (const r of rounds) {
    const key = `${r.scenario}\u0000${r.base}\u0000${r.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => ({
    scenario: rs[0]!.scenario,
    base: rs[0]!.base,
    variant: rs[0]!.variant,
    rounds: rs.length,
    baseNetCpuMs: median(rs.map((r) => r.baseNetCpuMs)),
    variantNetCpuMs: median(rs.map((r) => r.variantNetCpuMs)),
    ratio: median(rs.map((r) => r.ratio)),
    minRatio: Math.min(...rs.map((r) => r.ratio)),
    maxRatio: Math.max(...rs.map((r) => r.ratio)),
    failed: rs.reduce((sum, r) => sum + r.failed, 0),
  }));
}

export function pairedLines(summary: readonly PairedSummary[], durationS: number): string[] {
  if (summary.length === 0) return [];
  const pad = (value: string, width: number) => value.padStart(width);
  const lines = [
    `Feature cost, paired (both gateways loaded at once on core 0, ${Math.max(1, Math.floor(CONNECTIONS / 2))} connections each, ${summary[0]!.rounds} × ${durationS} s; net CPU per request)`,
    `${'scenario'.padEnd(36)} ${'variant / base'.padEnd(40)} ${pad('variant ms', 11)} ${pad('base ms', 8)} ${pad('ratio', 7)} ${pad('range', 13)} ${pad('failed', 7)}`,
  ];
  for (const s of summary)
    lines.push(
      `${s.scenario.padEnd(36)} ${`${s.variant} / ${s.base}`.padEnd(40)} ${pad(s.variantNetCpuMs.toFixed(3), 11)} ${pad(s.baseNetCpuMs.toFixed(3), 8)} ${pad(s.ratio.toFixed(2) + '×', 7)} ${pad(`${s.minRatio.toFixed(2)}–${s.maxRatio.toFixed(2)}×`, 13)} ${pad(String(s.failed), 7)}`,
    );
  lines.push('');
  return lines;
}
