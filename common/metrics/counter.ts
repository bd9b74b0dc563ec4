/**
 * Prometheus counters and gauges whose series are resolved once per label set and updated without touching a label
 * (series.ts says why not prom-client's for per-request updates): a series is one number, `inc`/`set` change it.
 *
 * The exposition is prom-client's Counter's and Gauge's — `<name>{labels} value` per series, in the order of their
 * first update — and `get()` answers in their shape (counter.test.ts compares both).
 */
import {
  SeriesIndex,
  checkMetricOptions,
  register,
  type LabelSet,
  type RegistrableMetric,
  type SeriesMetricOptions,
} from './series';

/** One label set's counter series: keep it, and count through it. */
export interface CounterSeries {
  /** Adds `by` (default 1): a finite number ≥ 0, as prom-client requires (anything else throws). */
  inc(by?: number): void;
}

/** One label set's gauge series. */
export interface GaugeSeries {
  set(value: number): void;
}

export interface Counter extends RegistrableMetric {
  readonly type: 'counter';
  /** The series of these label values, in `labelNames` order; builds a key — resolve once per label set. */
  series(...values: string[]): CounterSeries;
}

export interface Gauge extends RegistrableMetric {
  readonly type: 'gauge';
  /** The series of these label values, in `labelNames` order; builds a key — resolve once per label set. */
  series(...values: string[]): GaugeSeries;
}

class Series implements CounterSeries, GaugeSeries {
  value = 0;
  listed = false;

  constructor(
    readonly labels: LabelSet,
    private readonly index: SeriesIndex<Series>,
  ) {}

  inc(by = 1): void {
    if (!Number.isFinite(by)) throw new TypeError(`Value is not a valid number: ${by}`);
    if (by < 0) throw new Error('It is not possible to decrease a counter');
    this.value += by;
    if (!this.listed) this.index.list(this);
  }

  set(value: number): void {
    if (typeof value !== 'number') throw new TypeError(`Value is not a valid number: ${String(value)}`);
    this.value = value;
    if (!this.listed) this.index.list(this);
  }
}

interface ValueMetric<T extends 'counter' | 'gauge'> extends RegistrableMetric {
  readonly type: T;
  series(...values: string[]): Series;
}

function createValueMetric<T extends 'counter' | 'gauge'>(type: T, options: SeriesMetricOptions): ValueMetric<T> {
  checkMetricOptions(options);
  if (options.labelNames.length === 0) {
    // prom-client lists an unlabelled counter or gauge at 0 before any update; a series resolved per request is
    // what this module is for, and an unlabelled one is better kept by prom-client itself.
    throw new Error(`${options.name}: a ${type} of ours needs labels; use prom-client's for an unlabelled one`);
  }
  const index: SeriesIndex<Series> = new SeriesIndex(options.labelNames, (labels) => new Series(labels, index));
  // prom-client's Counter.get() and Gauge.get(): one `{ value, labels }` per series, its labels in label order. The
  // name is read from the metric: an OpenMetrics registry takes a counter's `_total` off it before asking.
  const get = async () => ({
    name: metric.name,
    help: options.help,
    type,
    values: index.listed.map((series) => ({ value: series.value, labels: series.labels })),
    aggregator: 'sum' as const,
  });
  const metric: ValueMetric<T> = {
    name: options.name,
    help: options.help,
    type,
    aggregator: 'sum' as const,
    series: (...values: string[]) => index.resolve(values),
    get,
    getForPromString: get,
    reset: () =>
      index.unlistAll((series) => {
        series.value = 0;
      }),
  };
  register(metric, options.registers);
  return metric;
}

export function createCounter(options: SeriesMetricOptions): Counter {
  return createValueMetric('counter', options);
}

export function createGauge(options: SeriesMetricOptions): Gauge {
  return createValueMetric('gauge', options);
}
