/**
 * Our histogram against prom-client's: the same observations give the same exposition, byte for byte, and the same
 * `get()` objects — so /metrics means what it meant when prom-client's Histogram kept these series.
 */
import { Histogram as PromHistogram, Registry } from 'prom-client';
import { createHistogram } from './histogram';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 1];
const LABELS = ['http_request_method', 'tenant'];

/** The same metric kept by prom-client and by us, each in a registry of its own. */
function pair(defaultLabels?: Record<string, string>) {
  const theirs = new Registry();
  const ours = new Registry();
  if (defaultLabels) {
    theirs.setDefaultLabels(defaultLabels);
    ours.setDefaultLabels(defaultLabels);
  }
  const options = { name: 'request_seconds', help: 'Requests, by method and tenant.', labelNames: LABELS };
  const prom = new PromHistogram({ ...options, buckets: BUCKETS, registers: [theirs] });
  const own = createHistogram({ ...options, buckets: BUCKETS, registers: [ours] });
  return { theirs, ours, prom, own };
}

/** Observations that hit bounds exactly, fall between them, below the first and past the last. */
const OBSERVATIONS: [string, string, number][] = [
  ['POST', 'acme', 0.003],
  ['GET', 'globex', 0.01],
  ['POST', 'acme', 0.01],
  ['POST', 'acme', 0.0100001],
  ['POST', 'initech', 2.5],
  ['GET', 'globex', 0.2],
  ['POST', 'acme', 1],
  ['POST', 'acme', 0],
  ['GET', 'globex', 0.1 + 0.2],
  // Label values the text format must escape.
  ['POST', 'we "quote"\\back\nslash', 0.04],
];

describe('histogram', () => {
  it('exposes what prom-client exposes for the same observations, in the same order', async () => {
    const { theirs, ours, prom, own } = pair();
    for (const [method, tenant, value] of OBSERVATIONS) {
      prom.labels(method, tenant).observe(value);
      own.series(method, tenant).observe(value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('request_seconds_bucket{le="0.01",http_request_method="POST",tenant="acme"} 3');
    expect(text).toContain('request_seconds_bucket{le="+Inf",http_request_method="POST",tenant="acme"} 5');
    expect(text).toContain('request_seconds_count{http_request_method="POST",tenant="initech"} 1');
    expect(await own.get()).toEqual(await prom.get());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it("is the same with a registry's default labels (a subgraph's registry has one)", async () => {
    const { theirs, ours, prom, own } = pair({ subgraph: 'products' });
    for (const [method, tenant, value] of OBSERVATIONS) {
      prom.labels(method, tenant).observe(value);
      own.series(method, tenant).observe(value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('request_seconds_sum{subgraph="products",http_request_method="GET",tenant="globex"} 0.51');
  });

  it('lists a series from its first observation, not from when it was resolved', async () => {
    const { theirs, ours, prom, own } = pair();
    const first = own.series('POST', 'acme');
    const second = own.series('POST', 'globex');
    expect(own.series('POST', 'acme')).toBe(first);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).not.toContain('acme');
    // Resolved first, observed second: listed second, as prom-client lists it.
    second.observe(0.02);
    prom.labels('POST', 'globex').observe(0.02);
    first.observe(0.02);
    prom.labels('POST', 'acme').observe(0.02);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text.indexOf('globex')).toBeLessThan(text.indexOf('acme'));
  });

  it('reset unlists every series; a series kept from before counts again from zero', async () => {
    const { theirs, ours, prom, own } = pair();
    const kept = own.series('POST', 'acme');
    kept.observe(0.5);
    prom.labels('POST', 'acme').observe(0.5);
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    kept.observe(0.001);
    prom.labels('POST', 'acme').observe(0.001);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('request_seconds_count{http_request_method="POST",tenant="acme"} 1');
  });

  it('refuses what prom-client refuses', () => {
    const { own } = pair();
    expect(() => own.series('POST').observe(1)).toThrow(/Invalid number of arguments/);
    expect(() => own.series('POST', 'acme').observe(Number.NaN)).toThrow(TypeError);
    expect(() => own.series('POST', 'acme').observe(Infinity)).toThrow(TypeError);
    const registers = [new Registry()];
    const options = { name: 'h', help: 'h', labelNames: ['a'], registers };
    expect(() => createHistogram({ ...options, labelNames: ['le'], buckets: [1] })).toThrow(/reserved/);
    expect(() => createHistogram({ ...options, name: 'no-dash', buckets: [1] })).toThrow(/metric name/);
    expect(() => createHistogram({ ...options, buckets: [2, 1] })).toThrow(/increasing/);
    expect(() => createHistogram({ ...options, buckets: [1, Infinity] })).toThrow(/finite/);
    createHistogram({ ...options, buckets: [1] });
    expect(() => createHistogram({ ...options, buckets: [1] })).toThrow(/already been registered/);
  });
});
