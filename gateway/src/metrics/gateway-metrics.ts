/**
 * The gateway's metrics, in Prometheus' text format on a listener of their own (common/metrics-listener.ts). Names
 * follow OpenTelemetry's semantic conventions as Prometheus spells them (`http.server.request.duration` →
 * `http_server_request_duration_seconds`, attributes with `_` for `.`); Tollgate's own are `tollgate_*`.
 *
 * Per request, everything is recorded once, when the HTTP layer writes the request's log line (http/guards.ts,
 * `trackRequests`), from the request's log the stages filled in (request.ts, RequestLog): nothing runs per stage, and the
 * label values come from bounded sets (labels.ts) — a tenant only when registered and within `maxTenants`, an
 * operation name only when the operation came from a list (a partner manifest, the frontend safelist). What the
 * gateway holds (caches, the budget's backend, circuit breakers) is read when Prometheus scrapes.
 *
 * What is updated per request or per fetch is kept in series of our own (common/metrics), resolved once per label set
 * and held per tenant and per subgraph: a request finds its series by the tenant's label and by numbers (status,
 * route and method indices), never by a label string built for it, and an update is a few additions. prom-client
 * serves the text and keeps what is read at scrape time.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  createCounter,
  createGauge,
  type Counter as SeriesCounter,
  type CounterSeries,
  type GaugeSeries,
} from '../../../common/metrics/counter';
import { createHistogram, type HistogramSeries } from '../../../common/metrics/histogram';
import type { AuditWriterStats } from '../audit/writer';
import type { BudgetStats } from '../budget/budget';
import type { CacheStats } from '../cache';
import { ErrorCode } from '../errors';
import type { RequestContext } from '../request';
import type { BreakerState } from '../upstream/circuit-breaker';
import type { SubgraphFetchMetrics } from '../upstream/data-source';
import {
  GRAPHQL_ROUTE,
  METHOD_LABELS,
  ROUTE_LABELS,
  UNKNOWN_OPERATION,
  createTenantLabels,
  methodIndex,
  routeIndex,
} from './labels';

export interface GatewayMetricsOptions {
  /** Tenants with a label of their own, at most (`METRICS_MAX_TENANTS`); the rest are `other`. */
  maxTenants: number;
  /** The served supergraph's id, the SHA-256 of its SDL; read at each scrape (it changes on a hot swap). */
  supergraphId: () => string;
  /** Read at each scrape. */
  caches: () => CacheStats[];
  budget: () => BudgetStats;
  breakerStates: () => Record<string, BreakerState>;
  /** The audit writer's state (audit/writer.ts); absent or undefined when the audit trail is off. */
  audit?: () => AuditWriterStats | undefined;
  /** Usage metering's losses (metering/index.ts): requests not counted, quota checks skipped, Redis unavailable. */
  usage?: () => { readonly recordsLost: number; readonly quotaChecksSkipped: number };
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /**
   * For the subgraph data sources: `http_client_request_duration_seconds` per fetch sent, and
   * `tollgate_subgraph_fetches_deduplicated_total` per fetch answered by another's (upstream/dedupe.ts).
   */
  readonly fetches: SubgraphFetchMetrics;
  /** A request came in (`http_server_active_requests`). */
  requestStarted(): void;
  /** A supergraph was offered for a hot swap (supergraph/reloader.ts): `applied`, `refused` or `failed`. */
  supergraphReloaded(result: 'applied' | 'refused' | 'failed'): void;
  /** A request's answer went out, or its connection closed: records everything the request context says. */
  requestEnded(request: RequestContext, method: string, path: string, status: number, seconds: number): void;
}

/** OpenTelemetry's advised boundaries for `http.server.request.duration`, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** The gateway's own time is mostly under a few milliseconds: finer at the low end. */
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
const COST_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const PERSISTED_MISSES = new Set<string>([ErrorCode.PERSISTED_QUERY_NOT_FOUND, ErrorCode.PERSISTED_QUERY_NOT_IN_LIST]);
const RATE_LIMITED: string = ErrorCode.RATE_LIMITED;

export function createGatewayMetrics(options: GatewayMetricsOptions): GatewayMetrics {
  const registry = new Registry();
  // Process CPU, heap, event-loop delay, GC: what an operator looks at first. prom-client samples them at scrape.
  collectDefaultMetrics({ register: registry });
  const tenants = createTenantLabels({ maxTenants: options.maxTenants });
  const registers = [registry];

  const serverDuration = createHistogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests to the gateway, by method, route, status and tenant.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code', 'tenant'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  // A number of ours, read at scrape time: an unlabelled prom-client gauge would still go through its label handling
  // twice per request.
  let activeRequests = 0;
  new Gauge({
    name: 'http_server_active_requests',
    help: 'HTTP requests in flight.',
    registers,
    collect() {
      this.set(activeRequests);
    },
  });
  const clientDuration = createHistogram({
    name: 'http_client_request_duration_seconds',
    help: 'Duration of the gateway\'s operation fetches to each subgraph, by status ("none": no answer).',
    labelNames: ['subgraph', 'http_response_status_code'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const deduplicated = createCounter({
    name: 'tollgate_subgraph_fetches_deduplicated_total',
    help: 'Subgraph fetches not sent because an identical query of the same caller was in flight, whose answer they got.',
    labelNames: ['subgraph'],
    registers,
  });
  const overhead = createHistogram({
    name: 'tollgate_request_overhead_duration_seconds',
    help: 'Time each /graphql request spent in the gateway itself: its duration less the wait on subgraphs.',
    labelNames: ['tenant'],
    buckets: OVERHEAD_BUCKETS,
    registers,
  });
  const operations = createCounter({
    name: 'tollgate_operations_total',
    help: 'GraphQL requests by tenant and operation (named only when persisted or safelisted, else "unknown").',
    labelNames: ['tenant', 'graphql_operation_name'],
    registers,
  });
  const refusals = createCounter({
    name: 'tollgate_refusals_total',
    help: 'Requests refused before execution, by tenant and error code.',
    labelNames: ['tenant', 'code'],
    registers,
  });
  const operationErrors = createCounter({
    name: 'tollgate_operation_errors_total',
    help: 'Errors in the answers of executed operations (partial failures), by tenant and error code.',
    labelNames: ['tenant', 'code'],
    registers,
  });
  const rateLimited = createCounter({
    name: 'tollgate_rate_limited_requests_total',
    help: 'Requests answered 429 RATE_LIMITED (cost budget or failed-authentication hold), by tenant.',
    labelNames: ['tenant'],
    registers,
  });
  const persistedMisses = createCounter({
    name: 'tollgate_persisted_operation_misses_total',
    help: "Persisted-operation ids not found or not in the caller's list, by tenant and code.",
    labelNames: ['tenant', 'code'],
    registers,
  });
  const costRequested = createHistogram({
    name: 'tollgate_query_cost_requested',
    help: 'Estimated cost of each operation that was priced, by tenant.',
    labelNames: ['tenant'],
    buckets: COST_BUCKETS,
    registers,
  });
  const costActual = createHistogram({
    name: 'tollgate_query_cost_actual',
    help: 'Cost charged for each executed operation, by tenant.',
    labelNames: ['tenant'],
    buckets: COST_BUCKETS,
    registers,
  });
  const budgetRemaining = createGauge({
    name: 'tollgate_budget_remaining',
    help: "Points left in the tenant's cost budget after its latest operation (this replica's view).",
    labelNames: ['tenant'],
    registers,
  });

  // Read at scrape time.
  new Gauge({
    name: 'tollgate_supergraph_info',
    help: 'The loaded supergraph: its id is the SHA-256 of its SDL.',
    labelNames: ['supergraph_id'],
    registers,
    collect() {
      // One series: the version served now (the previous one's series goes with the swap).
      this.reset();
      this.set({ supergraph_id: options.supergraphId() }, 1);
    },
  });
  const supergraphReloads = new Counter({
    name: 'tollgate_supergraph_reload_total',
    help: 'Supergraphs offered for a hot swap, by result (applied, refused, failed).',
    labelNames: ['result'],
    registers,
  });
  // Zero from the start, so a rate over the series exists before the first swap.
  for (const result of ['applied', 'refused', 'failed']) supergraphReloads.inc({ result }, 0);
  new Counter({
    name: 'tollgate_cache_lookups_total',
    help: 'Lookups in each per-document cache, by result (hit, miss).',
    labelNames: ['cache', 'result'],
    registers,
    collect() {
      this.reset();
      for (const stats of options.caches()) {
        this.inc({ cache: stats.name, result: 'hit' }, stats.hits);
        this.inc({ cache: stats.name, result: 'miss' }, stats.misses);
      }
    },
  });
  new Gauge({
    name: 'tollgate_cache_bytes',
    help: 'Estimated heap bytes each per-document cache holds.',
    labelNames: ['cache'],
    registers,
    collect() {
      for (const stats of options.caches()) this.set({ cache: stats.name }, stats.bytes);
    },
  });
  new Gauge({
    name: 'tollgate_budget_redis_fallback',
    help: '1 while the cost budget decides without Redis (per-process buckets, or refusals when failing closed).',
    registers,
    collect() {
      this.set(options.budget().backend === 'redis' ? 0 : 1);
    },
  });
  new Counter({
    name: 'tollgate_budget_fallback_decisions_total',
    help: 'Budget decisions taken without Redis.',
    registers,
    collect() {
      this.reset();
      this.inc(options.budget().fallbackDecisions);
    },
  });
  const usage = options.usage;
  if (usage) {
    new Counter({
      name: 'tollgate_usage_records_lost_total',
      help: 'Requests usage metering could not count because Redis did not answer (the gateway kept serving).',
      registers,
      collect() {
        this.reset();
        this.inc(usage().recordsLost);
      },
    });
    new Counter({
      name: 'tollgate_quota_checks_skipped_total',
      help: 'Operations served without the monthly quota check because Redis did not answer (QUOTA_FAIL_MODE=open).',
      registers,
      collect() {
        this.reset();
        this.inc(usage().quotaChecksSkipped);
      },
    });
  }
  new Gauge({
    name: 'tollgate_subgraph_circuit_state',
    help: "Each subgraph's circuit breaker: 1 for its current state (closed, open, half-open).",
    labelNames: ['subgraph', 'state'],
    registers,
    collect() {
      for (const [subgraph, current] of Object.entries(options.breakerStates())) {
        for (const state of BREAKER_STATES) this.set({ subgraph, state }, state === current ? 1 : 0);
      }
    },
  });

  if (options.audit) {
    const audit = options.audit;
    new Counter({
      name: 'tollgate_audit_events_lost_total',
      help: 'Audit events lost: the spool was full (or the writer closed). Each is also logged as an error.',
      registers,
      collect() {
        this.reset();
        this.inc(audit()?.lost ?? 0);
      },
    });
    new Gauge({
      name: 'tollgate_audit_spool_bytes',
      help: 'Bytes of audit events waiting in the local spool for MongoDB.',
      registers,
      collect() {
        this.set(audit()?.spoolBytes ?? 0);
      },
    });
    new Gauge({
      name: 'tollgate_audit_degraded',
      help: '1 while the audit trail cannot be kept complete (events were lost since the spool last drained).',
      registers,
      collect() {
        this.set(audit()?.degraded ? 1 : 0);
      },
    });
  }

  // Series resolved once per label set: per tenant label (bounded: maxTenants, `other`, `none`), per subgraph.
  const byTenant = new Map<string, TenantSeries>();
  const tenantSeriesOf = (tenant: string): TenantSeries => {
    let series = byTenant.get(tenant);
    if (!series) {
      series = {
        tenant,
        durations: new Map(),
        overhead: overhead.series(tenant),
        rateLimited: rateLimited.series(tenant),
        costRequested: costRequested.series(tenant),
        costActual: costActual.series(tenant),
        budgetRemaining: budgetRemaining.series(tenant),
        operations: new Map(),
        refusals: new Map(),
        operationErrors: new Map(),
        persistedMisses: new Map(),
      };
      byTenant.set(tenant, series);
    }
    return series;
  };
  /** `http_server_request_duration_seconds` of a tenant's request, by one number for status, route and method. */
  const durationOf = (tenant: TenantSeries, status: number, route: number, method: number): HistogramSeries => {
    const key = (status * ROUTE_LABELS.length + route) * METHOD_LABELS.length + method;
    let series = tenant.durations.get(key);
    if (!series) {
      series = serverDuration.series(METHOD_LABELS[method]!, ROUTE_LABELS[route]!, String(status), tenant.tenant);
      tenant.durations.set(key, series);
    }
    return series;
  };
  /** A tenant's series of a counter labelled (tenant, `value`), `value` from a bounded set (codes, listed names). */
  const counted = (
    counter: SeriesCounter,
    bySecond: Map<string, CounterSeries>,
    tenant: string,
    value: string,
  ): CounterSeries => {
    let series = bySecond.get(value);
    if (!series) bySecond.set(value, (series = counter.series(tenant, value)));
    return series;
  };

  return {
    registry,
    fetches: {
      of(subgraph) {
        const byStatus = new Map<number, HistogramSeries>();
        let unanswered: HistogramSeries | undefined;
        const fetchesDeduplicated = deduplicated.series(subgraph);
        return {
          observe(status, seconds) {
            let series: HistogramSeries | undefined;
            if (status === undefined) series = unanswered ??= clientDuration.series(subgraph, 'none');
            else {
              series = byStatus.get(status);
              if (!series) byStatus.set(status, (series = clientDuration.series(subgraph, String(status))));
            }
            series.observe(seconds);
          },
          deduplicated() {
            fetchesDeduplicated.inc();
          },
        };
      },
    },
    supergraphReloaded(result) {
      supergraphReloads.inc({ result });
    },
    requestStarted() {
      activeRequests += 1;
    },
    requestEnded(request, method, path, status, seconds) {
      activeRequests -= 1;
      const { log } = request;
      const perTenant = tenantSeriesOf(tenants.of(request.tenant?.id, log.tenantId));
      const { tenant } = perTenant;
      const route = routeIndex(path);
      durationOf(perTenant, status, route, methodIndex(method)).observe(seconds);
      if (route !== GRAPHQL_ROUTE) return;

      perTenant.overhead.observe(Math.max(0, seconds - (log.subgraphWaitMs ?? 0) / 1000));
      const operation = log.operationListed && log.operationName ? log.operationName : UNKNOWN_OPERATION;
      counted(operations, perTenant.operations, tenant, operation).inc();
      const codes = log.errorCodes;
      for (let i = 0; i < codes.length; i += 1) {
        const code = codes[i]!;
        // One count per code per request: a response may repeat a code for several fields.
        if (codes.indexOf(code) !== i) continue;
        if (log.executed) counted(operationErrors, perTenant.operationErrors, tenant, code).inc();
        else counted(refusals, perTenant.refusals, tenant, code).inc();
        if (code === RATE_LIMITED) perTenant.rateLimited.inc();
        if (PERSISTED_MISSES.has(code)) counted(persistedMisses, perTenant.persistedMisses, tenant, code).inc();
      }
      if (log.requestedCost !== undefined) perTenant.costRequested.observe(log.requestedCost);
      if (log.executed && log.actualCost !== undefined) perTenant.costActual.observe(log.actualCost);
      if (log.budgetAvailable !== undefined) perTenant.budgetRemaining.set(log.budgetAvailable);
    },
  };
}

/** One tenant label's series, resolved when the label is first seen. */
interface TenantSeries {
  readonly tenant: string;
  /** By `(status × routes + route) × methods + method` (labels.ts indices). */
  readonly durations: Map<number, HistogramSeries>;
  readonly overhead: HistogramSeries;
  readonly rateLimited: CounterSeries;
  readonly costRequested: HistogramSeries;
  readonly costActual: HistogramSeries;
  readonly budgetRemaining: GaugeSeries;
  /** By operation name label, by code. */
  readonly operations: Map<string, CounterSeries>;
  readonly refusals: Map<string, CounterSeries>;
  readonly operationErrors: Map<string, CounterSeries>;
  readonly persistedMisses: Map<string, CounterSeries>;
}
