/** Helpers of the supergraph hot-reload tests (gateway/src/supergraph/hot-reload.test.ts): waiting, load, metrics. */
import { setTimeout as delay } from 'node:timers/promises';

/** Polls `condition` every 50 ms until it holds; throws, naming `what`, after `withinMs`. */
export async function within(
  withinMs: number,
  what: string,
  condition: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
    await delay(50);
  }
}

export interface Load {
  /** Requests answered so far. */
  requests(): number;
  /** Stops after the round in flight; every failure described. */
  stop(): Promise<{ requests: number; failures: string[] }>;
}

/**
 * A constant light load: every ~20 ms one request per target, all targets at once. A target sends one request and
 * resolves with what was wrong with the answer, or `undefined` when it was right; a rejection is a failure too.
 */
export function startLoad(targets: readonly (() => Promise<string | undefined>)[]): Load {
  let running = true;
  let requests = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      await Promise.all(
        targets.map(async (target) => {
          const failure = await target().catch((error: Error) => `no answer: ${error.message}`);
          requests++;
          if (failure !== undefined) failures.push(failure);
        }),
      );
      await delay(20);
    }
  })();
  return {
    requests: () => requests,
    async stop() {
      running = false;
      await loop;
      return { requests, failures };
    },
  };
}

/** The supergraph series of a gateway's metrics: reload counts by result, and the served version's id. */
export async function scrapeSupergraphMetrics(metricsUrl: string): Promise<{
  reloads(result: 'applied' | 'refused' | 'failed'): number | undefined;
  servedId: string | undefined;
}> {
  const text = await (await fetch(metricsUrl)).text();
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
  return {
    reloads: (result) => value(`tollgate_supergraph_reload_total{result="${result}"}`),
    servedId: /tollgate_supergraph_info\{supergraph_id="([0-9a-f]*)"\} 1/.exec(text)?.[1],
  };
}
