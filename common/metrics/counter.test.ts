/**
 * Our counters and gauges against prom-client's: the same updates give the same exposition, byte for byte, and the
 * same `get()` objects.
 */
import { Counter as PromCounter, Gauge as PromGauge, Registry } from 'prom-client';
import { createCounter, createGauge } from './counter';

const LABELS = ['tenant', 'code'];

function registries(defaultLabels?: Record<string, string>) {
  const theirs = new Registry();
  const ours = new Registry();
  if (defaultLabels) {
    theirs.setDefaultLabels(defaultLabels);
    ours.setDefaultLabels(defaultLabels);
  }
  return { theirs, ours };
}

describe('counter', () => {
  it('exposes what prom-client exposes for the same increments, in the order of the first', async () => {
    const { theirs, ours } = registries({ subgraph: 'products' });
    const options = { name: 'refusals_total', help: 'Refusals, by tenant and code.', labelNames: LABELS };
    const prom = new PromCounter({ ...options, registers: [theirs] });
    const own = createCounter({ ...options, registers: [ours] });
    const unused = own.series('initech', 'FORBIDDEN');
    const increments: [string, string, number | undefined][] = [
      ['globex', 'FORBIDDEN', undefined],
      ['acme', 'RATE_LIMITED', 2],
      ['globex', 'FORBIDDEN', 0.5],
      ['acme', 'NOT "FOUND"\n', 0],
    ];
    for (const [tenant, code, by] of increments) {
      prom.labels(tenant, code).inc(by);
      own.series(tenant, code).inc(by);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('refusals_total{tenant="globex",code="FORBIDDEN",subgraph="products"} 1.5');
    // Incremented by 0: listed at 0, as prom-client lists it.
    expect(text).toContain('code="NOT \\"FOUND\\"\\n",subgraph="products"} 0');
    expect(text).not.toContain('initech');
    expect(await own.get()).toEqual(await prom.get());

    unused.inc();
    prom.labels('initech', 'FORBIDDEN').inc();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses to go down, and anything not a number', () => {
    const own = createCounter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [new Registry()] });
    expect(() => own.series('x').inc(-1)).toThrow(/decrease/);
    expect(() => own.series('x').inc(Number.NaN)).toThrow(TypeError);
    expect(() => own.series('x', 'y')).toThrow(/Invalid number of arguments/);
    expect(() => createCounter({ name: 'u_total', help: 'u', labelNames: [], registers: [new Registry()] })).toThrow(
      /needs labels/,
    );
  });
});

describe('gauge', () => {
  it('exposes what prom-client exposes for the same values: the latest per series', async () => {
    const { theirs, ours } = registries();
    const options = { name: 'budget_remaining', help: 'Budget left.', labelNames: ['tenant'] };
    const prom = new PromGauge({ ...options, registers: [theirs] });
    const own = createGauge({ ...options, registers: [ours] });
    for (const [tenant, value] of [
      ['acme', 900],
      ['globex', 0],
      ['acme', -3.5],
    ] as const) {
      prom.labels(tenant).set(value);
      own.series(tenant).set(value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('budget_remaining{tenant="acme"} -3.5');
    expect(await own.get()).toEqual(await prom.get());
  });
});
