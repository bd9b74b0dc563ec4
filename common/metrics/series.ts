/**
 * What the metrics of ours (histogram.ts, counter.ts) share: the series of one metric, one per label set, each
 * resolved once and then updated through the object itself.
 *
 * Why not prom-client's own metrics: a prom-client child (`histogram.labels(...)`) keeps only its label object, and
 * every `observe`/`inc`/`set` on it validates the labels, hashes them into a string and looks the series up in an
 * object by that string — a string built and hashed per call, about a dozen times per gateway request. Here the child
 * is the series: an update touches its own fields and nothing else. prom-client still serves the text: these metrics
 * implement what its Registry reads from a metric (`name`, `help`, `type`, `aggregator`, `get`,
 * `getForPromString`, `reset`) and answer in the same shapes as its own classes, so the exposition is the same.
 *
 * Listing order is prom-client's too: a series appears in the exposition from its first update, after the series
 * that had one earlier (prom-client's hash map is keyed by the label string in insertion order).
 */
import type { Metric, Registry } from 'prom-client';

/** Label values by label name, in the order of the metric's `labelNames` (prom-client's `labels(...)` order). */
export type LabelSet = Readonly<Record<string, string>>;

/** What every metric of ours is given. */
export interface SeriesMetricOptions {
  /** As Prometheus spells it: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** The `# HELP` text. */
  help: string;
  /** The labels every series has, in the order `series(...)` takes their values. */
  labelNames: readonly string[];
  /** The registries that serve the metric. */
  registers: readonly Registry[];
}

/** What prom-client's Registry reads from a metric (registry.js: `getMetricsAsString`, `getMetricsAsJSON`). */
export interface RegistrableMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<unknown>;
  getForPromString(): Promise<unknown>;
  reset(): void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Checks a metric's name and labels as prom-client's constructor does; `reserved` are label names it may not use. */
export function checkMetricOptions(options: SeriesMetricOptions, reserved: readonly string[] = []): void {
  if (!options.help) throw new Error('Missing mandatory help parameter');
  if (!METRIC_NAME.test(options.name)) throw new Error(`Invalid metric name: ${options.name}`);
  for (const label of options.labelNames) {
    if (!LABEL_NAME.test(label)) throw new Error(`Invalid label name: ${label}`);
    if (reserved.includes(label)) throw new Error(`${label} is a reserved label keyword`);
  }
  if (new Set(options.labelNames).size !== options.labelNames.length) throw new Error('Duplicate label name');
}

/** Registers `metric` with each registry, which throws if another metric has its name (as prom-client's do). */
export function register(metric: RegistrableMetric, registers: readonly Registry[]): void {
  // prom-client types registerMetric for its own classes; at run time it stores any object with the shape above.
  for (const registry of registers) registry.registerMetric(metric as unknown as Metric);
}

/** A series as this module keeps it: its labels, and whether it is listed in the exposition yet. */
export interface ListedSeries {
  readonly labels: LabelSet;
  listed: boolean;
}

/**
 * The series of one metric by label values. `resolve` builds a key and looks it up: callers resolve once per label
 * set and keep the series. `listed` holds the series that had an update, in the order of their first one.
 */
export class SeriesIndex<S extends ListedSeries> {
  private readonly byKey = new Map<string, S>();
  readonly listed: S[] = [];

  constructor(
    private readonly labelNames: readonly string[],
    private readonly create: (labels: LabelSet) => S,
  ) {}

  resolve(values: readonly string[]): S {
    if (values.length !== this.labelNames.length) {
      throw new Error(
        `Invalid number of arguments (${values.length}): "${values.join(', ')}" for label names (${this.labelNames.length}): "${this.labelNames.join(', ')}".`,
      );
    }
    // JSON keeps the values apart whatever characters they hold; this runs once per label set.
    const key = JSON.stringify(values);
    let series = this.byKey.get(key);
    if (!series) {
      const labels: Record<string, string> = {};
      for (let i = 0; i < values.length; i += 1) labels[this.labelNames[i]!] = values[i]!;
      series = this.create(labels);
      this.byKey.set(key, series);
    }
    return series;
  }

  /** Called by a series on its first update (since the last reset): lists it after those listed before. */
  list(series: S): void {
    series.listed = true;
    this.listed.push(series);
  }

  /** prom-client's `reset()`: no series is listed until it is updated again; resolved series stay valid. */
  unlistAll(reset: (series: S) => void): void {
    for (const series of this.byKey.values()) {
      series.listed = false;
      reset(series);
    }
    this.listed.length = 0;
  }
}
