/**
 * Two sequential measurements of the bench: latency at rest (one connection, one request at a time) and database
 * commands per request (the subgraphs' counters, `GET /_bench/commands`, read around a few sequential requests).
 */
import { Agent, fetch as undiciFetch } from 'undici';

export interface RestLatency {
  gateway: string;
  query: string;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** One gateway's part in a latency-at-rest measurement. */
export interface RestTarget {
  url: string;
  headers: Record<string, string>;
}

/**
 * p50/p99 of `requests` sequential POSTs of `body` to each target, each over its own keep-alive connection, after
 * `warmup` unmeasured ones each. One request is in flight at a time, and the targets take turns request by request
 * (a, b, c, a, b, c, …): whatever the machine does meanwhile — a timer, another process, the CPU's clock — falls on
 * every gateway alike, where measuring them one after the other gave each its own minute of the machine's weather.
 */
export async function latencyAtRest(
  targets: readonly RestTarget[],
  body: string,
  options: { requests: number; warmup: number; gapMs?: number },
): Promise<{ p50Ms: number; p99Ms: number }[]> {
  const dispatchers = targets.map(() => new Agent({ connections: 1, pipelining: 1 }));
  try {
    const samples: number[][] = targets.map(() => []);
    for (let i = 0; i < options.warmup + options.requests; i += 1) {
      for (const [t, target] of targets.entries()) {
        if (options.gapMs) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
        const started = process.hrtime.bigint();
        const res = await undiciFetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...target.headers },
          body,
          dispatcher: dispatchers[t],
        });
        const text = await res.text();
        if (res.status !== 200 || text.includes('"errors"'))
          throw new Error(`at rest: ${target.url}: ${res.status} ${text.slice(0, 200)}`);
        if (i >= options.warmup) samples[t]!.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    return samples.map((own) => {
      own.sort((a, b) => a - b);
      return { p50Ms: quantile(own, 0.5), p99Ms: quantile(own, 0.99) };
    });
  } finally {
    await Promise.all(dispatchers.map((dispatcher) => dispatcher.close()));
  }
}

async function commandCounts(countUrls: string[]): Promise<Record<string, number>> {
  const total: Record<string, number> = {};
  for (const url of countUrls) {
    const { commands } = (await (await fetch(url)).json()) as { commands: Record<string, number> };
    for (const [name, n] of Object.entries(commands)) total[name] = (total[name] ?? 0) + n;
  }
  return total;
}

/** Database commands per request, by name, over `requests` sequential requests (all subgraphs' counters). */
export async function commandsPerRequest(
  url: string,
  body: string,
  headers: Record<string, string>,
  countUrls: string[],
  requests = 20,
): Promise<{ total: number; byCommand: Record<string, number> }> {
  const before = await commandCounts(countUrls);
  for (let i = 0; i < requests; i += 1) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    await res.text();
  }
  const after = await commandCounts(countUrls);
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of Object.entries(after)) {
    const per = (n - (before[name] ?? 0)) / requests;
    if (per > 0) byCommand[name] = Number(per.toFixed(2));
    total += per;
  }
  return { total: Number(total.toFixed(2)), byCommand };
}
