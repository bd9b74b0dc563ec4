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

/** p50/p99 of `requests` sequential POSTs over one keep-alive connection, after `warmup` unmeasured ones. */
export async function latencyAtRest(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { requests: number; warmup: number },
): Promise<{ p50Ms: number; p99Ms: number }> {
  const dispatcher = new Agent({ connections: 1, pipelining: 1 });
  try {
    const samples: number[] = [];
    for (let i = 0; i < options.warmup + options.requests; i += 1) {
      const started = process.hrtime.bigint();
      const res = await undiciFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        dispatcher,
      });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"errors"'))
        throw new Error(`at rest: ${res.status} ${text.slice(0, 200)}`);
      if (i >= options.warmup) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    samples.sort((a, b) => a - b);
    return { p50Ms: quantile(samples, 0.5), p99Ms: quantile(samples, 0.99) };
  } finally {
    await dispatcher.close();
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
