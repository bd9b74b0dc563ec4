/**
 * What one per-request metric update costs: a prom-client child (the series resolved once, as the gateway kept them
 * before issue 14's last 2 %) against our series (common/metrics/histogram.ts, counter.ts), 1e6 updates each, CPU
 * time from process.cpuUsage over the best of a few rounds (a shared machine only ever adds time). The values cycle
 * through the gateway's overhead buckets so that the bucket scan is not always the shortest.
 *
 *   npx tsx bench/histogram.ts
 */
import { Counter as PromCounter, Histogram as PromHistogram, Registry } from 'prom-client';
import { createCounter } from '../common/metrics/counter';
import { createHistogram } from '../common/metrics/histogram';

const UPDATES = Number(process.env.BENCH_HISTOGRAM_UPDATES ?? 1_000_000);
const ROUNDS = 5;
const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
const VALUES = Float64Array.from({ length: 1024 }, (_, i) => 0.0001 * 1.01 ** i);

/** Best CPU nanoseconds per update of `update` over ROUNDS rounds of UPDATES. */
function measure(update: (i: number) => void): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round += 1) {
    const before = process.cpuUsage();
    for (let i = 0; i < UPDATES; i += 1) update(i);
    const used = process.cpuUsage(before);
    best = Math.min(best, ((used.user + used.system) * 1000) / UPDATES);
  }
  return best;
}

function main(): void {
  const registers = [new Registry()];
  const labelNames = ['tenant'];
  const promHistogram = new PromHistogram({ name: 'p', help: 'p', labelNames, buckets: BUCKETS, registers });
  const ownHistogram = createHistogram({ name: 'o', help: 'o', labelNames, buckets: BUCKETS, registers });
  const promCounter = new PromCounter({ name: 'pc', help: 'pc', labelNames: ['tenant', 'code'], registers });
  const ownCounter = createCounter({ name: 'oc', help: 'oc', labelNames: ['tenant', 'code'], registers });
  const promChild = promHistogram.labels('acme');
  const ownSeries = ownHistogram.series('acme');
  const promCounterChild = promCounter.labels('acme', 'FORBIDDEN');
  const ownCounterSeries = ownCounter.series('acme', 'FORBIDDEN');

  const rows: [string, number][] = [
    ['histogram: prom-client child observe', measure((i) => promChild.observe(VALUES[i & 1023]!))],
    ['histogram: our series observe', measure((i) => ownSeries.observe(VALUES[i & 1023]!))],
    ['counter: prom-client child inc', measure(() => promCounterChild.inc())],
    ['counter: our series inc', measure(() => ownCounterSeries.inc())],
  ];
  console.log(`${UPDATES} updates, best of ${ROUNDS} rounds, CPU ns per update`);
  for (const [name, ns] of rows) console.log(`${name.padEnd(40)} ${ns.toFixed(1)} ns`);
}

main();
