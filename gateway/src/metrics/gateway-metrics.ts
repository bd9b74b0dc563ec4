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
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditWriterStats } from '../audit/writer';
import type { BudgetStats } from '../budget/budget';
import type { CacheStats } from '../cache';
import { ErrorCode } from '../errors';
import type { RequestContext } from '../request';
import type { BreakerState } from '../upstream/circuit-breaker';
import type { SubgraphFetchMetrics } from '../upstream/data-source';
import { UNKNOWN_OPERATION, createTenantLabels, methodLabel, routeLabel } from './labels';

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

  const serverDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests to the gateway, by method, route, status and tenant.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code', 'tenant'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const activeRequests = new Gauge({
    name: 'http_server_active_requests',
    help: 'HTTP requests in flight.',
    registers,
  });
  const clientDuration = new Histogram({
    name: 'http_client_request_duration_seconds',
    help: 'Duration of the gateway\'s operation fetches to each subgraph, by status ("none": no answer).',
    labelNames: ['subgraph', 'http_response_status_code'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const deduplicated = new Counter({
    name: 'tollgate_subgraph_fetches_deduplicated_total',
    help: 'Subgraph fetches not sent because an identical query of the same caller was in flight, whose answer they got.',
    labelNames: ['subgraph'],
    registers,
  });
  const overhead = new Histogram({
    name: 'tollgate_request_overhead_duration_seconds',
    help: 'Time each /graphql request spent in the gateway itself: its duration less the wait on subgraphs.',
    labelNames: ['tenant'],
    buckets: OVERHEAD_BUCKETS,
    registers,
  });
  const operations = new Counter({
    name: 'tollgate_operations_total',
    help: 'GraphQL requests by tenant and operation (named only when persisted or safelisted, else "unknown").',
    labelNames: ['tenant', 'graphql_operation_name'],
    registers,
  });
  const refusals = new Counter({
    name: 'tollgate_refusals_total',
    help: 'Requests refused before execution, by tenant and error code.',
    labelNames: ['tenant', 'code'],
    registers,
  });
  const operationErrors = new Counter({
    name: 'tollgate_operation_errors_total',
    help: 'Errors in the answers of executed operations (partial failures), by tenant and error code.',
    labelNames: ['tenant', 'code'],
    registers,
  });
  const rateLimited = new Counter({
    name: 'tollgate_rate_limited_requests_total',
    help: 'Requests answered 429 RATE_LIMITED (cost budget or failed-authentication hold), by tenant.',
    labelNames: ['tenant'],
    registers,
  });
  const persistedMisses = new Counter({
    name: 'tollgate_persisted_operation_misses_total',
    help: "Persisted-operation ids not found or not in the caller's list, by tenant and code.",
    labelNames: ['tenant', 'code'],
    registers,
  });
  const costRequested = new Histogram({
    name: 'tollgate_query_cost_requested',
    help: 'Estimated cost of each operation that was priced, by tenant.',
    labelNames: ['tenant'],
    buckets: COST_BUCKETS,
    registers,
  });
  const costActual = new Histogram({
    name: 'tollgate_query_cost_actual',
    help: 'Cost charged for each executed operation, by tenant.',
    labelNames: ['tenant'],
    buckets: COST_BUCKETS,
    registers,
  });
  const budgetRemaining = new Gauge({
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

  // Children by label values, looked up once per combination: prom-client hashes a label object on every call.
  const serverChildren = new Map<string, Histogram.Internal<string>>();
  const tenantChildren = new Map<string, TenantChildren>();
  const tenantChildrenOf = (tenant: string): TenantChildren => {
    let children = tenantChildren.get(tenant);
    if (!children) {
      children = {
        overhead: overhead.labels(tenant),
        rateLimited: rateLimited.labels(tenant),
        costRequested: costRequested.labels(tenant),
        costActual: costActual.labels(tenant),
        budgetRemaining: budgetRemaining.labels(tenant),
      };
      tenantChildren.set(tenant, children);
    }
    return children;
  };
  const clientChildren = new Map<string, Histogram.Internal<string>>();
  const deduplicatedChildren = new Map<string, Counter.Internal>();
  /** A counter's child for two label values, looked up by their pair (both from bounded sets). */
  const pairChildren = (counter: Counter<string>) => {
    const children = new Map<string, Counter.Internal>();
    return (first: string, second: string): Counter.Internal => {
      const key = `${first} ${second}`;
      let child = children.get(key);
      if (!child) children.set(key, (child = counter.labels(first, second)));
      return child;
    };
  };
  const operationOf = pairChildren(operations);
  const refusalOf = pairChildren(refusals);
  const operationErrorOf = pairChildren(operationErrors);
  const persistedMissOf = pairChildren(persistedMisses);

  return {
    registry,
    fetches: {
      observe(subgraph, status, seconds) {
        const code = status === undefined ? 'none' : String(status);
        const key = `${subgraph} ${code}`;
        let child = clientChildren.get(key);
        if (!child) clientChildren.set(key, (child = clientDuration.labels(subgraph, code)));
        child.observe(seconds);
      },
      deduplicated(subgraph) {
        let child = deduplicatedChildren.get(subgraph);
        if (!child) deduplicatedChildren.set(subgraph, (child = deduplicated.labels(subgraph)));
        child.inc();
      },
    },
    supergraphReloaded(result) {
      supergraphReloads.inc({ result });
    },
    requestStarted() {
      activeRequests.inc();
    },
    requestEnded(request, method, path, status, seconds) {
      activeRequests.dec();
      const { log } = request;
      const tenant = tenants.of(request.tenant?.id, log.tenantId);
      const route = routeLabel(path);
      const key = `${tenant} ${status} ${route} ${method}`;
      let child = serverChildren.get(key);
      if (!child)
        serverChildren.set(key, (child = serverDuration.labels(methodLabel(method), route, String(status), tenant)));
      child.observe(seconds);
      if (route !== '/graphql') return;

      const perTenant = tenantChildrenOf(tenant);
      perTenant.overhead.observe(Math.max(0, seconds - (log.subgraphWaitMs ?? 0) / 1000));
      operationOf(tenant, log.operationListed && log.operationName ? log.operationName : UNKNOWN_OPERATION).inc();
      const codes = log.errorCodes;
      for (let i = 0; i < codes.length; i += 1) {
        const code = codes[i]!;
        // One count per code per request: a response may repeat a code for several fields.
        if (codes.indexOf(code) !== i) continue;
        if (log.executed) operationErrorOf(tenant, code).inc();
        else refusalOf(tenant, code).inc();
        if (code === RATE_LIMITED) perTenant.rateLimited.inc();
        if (PERSISTED_MISSES.has(code)) persistedMissOf(tenant, code).inc();
      }
      if (log.requestedCost !== undefined) perTenant.costRequested.observe(log.requestedCost);
      if (log.executed && log.actualCost !== undefined) perTenant.costActual.observe(log.actualCost);
      if (log.budgetAvailable !== undefined) perTenant.budgetRemaining.set(log.budgetAvailable);
    },
  };
}

interface TenantChildren {
  overhead: Histogram.Internal<string>;
  rateLimited: Counter.Internal;
  costRequested: Histogram.Internal<string>;
  costActual: Histogram.Internal<string>;
  budgetRemaining: Gauge.Internal<string>;
}
