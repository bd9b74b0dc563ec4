/**
 * A Prometheus histogram whose series are resolved once per label set and observed without touching a label
 * (series.ts says why not prom-client's `Histogram` for per-request observations). A series keeps one count per
 * bucket, a sum and a count; `observe` is a scan of the bounds and three additions — no string, no lookup.
 *
 * The exposition is prom-client's Histogram's: `<name>_bucket{le="…",…}` cumulative per bound and `+Inf`, then
 * `<name>_sum` and `<name>_count`, per series in the order of their first observation; `get()` answers in the shape
 * of prom-client's `Histogram.get()` (histogram.test.ts compares both, text and objects).
 */
import {
  SeriesIndex,
  checkMetricOptions,
  register,
  type LabelSet,
  type RegistrableMetric,
  type SeriesMetricOptions,
} from './series';

export interface HistogramOptions extends SeriesMetricOptions {
  /** Upper bounds of the buckets, strictly increasing and finite; `+Inf` is implied. */
  buckets: readonly number[];
}

/** One label set's series: keep it, and observe through it. */
export interface HistogramSeries {
  /** Counts `value` (a finite number; anything else throws, as prom-client does). */
  observe(value: number): void;
}

export interface Histogram extends RegistrableMetric {
  readonly type: 'histogram';
  /**
   * The series of these label values, in `labelNames` order — made on the first call, the same object after. This
   * call builds a key: resolve once per label set, not per observation.
   */
  series(...values: string[]): HistogramSeries;
}

/** A sample as prom-client's Histogram lists it for the text format: its own labels, and the series' as shared. */
interface PromStringSample {
  labels: { le?: number | '+Inf' };
  sharedLabels: LabelSet;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

class Series implements HistogramSeries {
  /** Observations per bucket, not cumulative: index i counts values in (bounds[i-1], bounds[i]]. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  listed = false;

  constructor(
    readonly labels: LabelSet,
    private readonly bounds: Float64Array,
    private readonly index: SeriesIndex<Series>,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const { bounds } = this;
    let i = 0;
    // The first bound the value does not exceed (prom-client's findBound); past the last, only `+Inf` counts it.
    while (i < bounds.length && value > bounds[i]!) i += 1;
    if (i < bounds.length) this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
    if (!this.listed) this.index.list(this);
  }
}

export function createHistogram(options: HistogramOptions): Histogram {
  checkMetricOptions(options, ['le']);
  const buckets = [...options.buckets];
  for (let i = 0; i < buckets.length; i += 1) {
    if (!Number.isFinite(buckets[i]) || (i > 0 && buckets[i]! <= buckets[i - 1]!))
      throw new Error(`${options.name}: buckets must be finite and strictly increasing`);
  }
  const bounds = Float64Array.from(buckets);
  const index: SeriesIndex<Series> = new SeriesIndex(options.labelNames, (labels) => new Series(labels, bounds, index));
  const bucketName = `${options.name}_bucket`;
  const sumName = `${options.name}_sum`;
  const countName = `${options.name}_count`;

  /** prom-client's `getForPromString()` values: the buckets, `+Inf`, sum and count of each listed series. */
  const samples = (): PromStringSample[] => {
    const out: PromStringSample[] = [];
    for (const series of index.listed) {
      const sharedLabels = series.labels;
      let cumulative = 0;
      for (let i = 0; i < buckets.length; i += 1) {
        cumulative += series.counts[i]!;
        out.push({
          labels: { le: buckets[i]! },
          sharedLabels,
          value: cumulative,
          metricName: bucketName,
          exemplar: null,
        });
      }
      out.push({ labels: { le: '+Inf' }, sharedLabels, value: series.count, metricName: bucketName, exemplar: null });
      out.push({ labels: {}, sharedLabels, value: series.sum, metricName: sumName, exemplar: undefined });
      out.push({ labels: {}, sharedLabels, value: series.count, metricName: countName, exemplar: undefined });
    }
    return out;
  };
  const metric = (values: unknown[]) => ({
    name: histogram.name,
    help: options.help,
    type: 'histogram' as const,
    values,
    aggregator: 'sum' as const,
  });

  const histogram: Histogram = {
    name: options.name,
    help: options.help,
    type: 'histogram',
    aggregator: 'sum',
    series: (...values) => index.resolve(values),
    getForPromString: async () => metric(samples()),
    // prom-client's get(): each sample's labels are its own and the series' in one object.
    get: async () =>
      metric(
        samples().map(({ labels, sharedLabels, value, metricName, exemplar }) => ({
          value,
          metricName,
          exemplar,
          labels: { ...labels, ...sharedLabels },
        })),
      ),
    reset: () =>
      index.unlistAll((series) => {
        series.counts.fill(0);
        series.sum = 0;
        series.count = 0;
      }),
  };
  register(histogram, options.registers);
  return histogram;
}
