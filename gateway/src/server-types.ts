/**
 * What `startGateway` (server.ts) takes besides the configuration, and what it returns. Kept apart so server.ts is
 * the wiring only.
 */
import type { Logger } from '../../common/logger';
import type { CacheStats } from './cache';
import type { RuleTree, ShieldRule } from './authz/gate';
import type { IdentityOptions } from './identity';
import type { ReferencePolicy } from './references/declarations';
import type { RequestContext } from './request';
import type { BreakerState } from './upstream/circuit-breaker';
import type { SubgraphHealth } from './upstream/subgraph-health';

export interface StartedGateway {
  /** Origin the gateway listens on, e.g. `http://127.0.0.1:4000`; GraphQL is at `${url}/graphql`. */
  url: string;
  port: number;
  /** Each subgraph's circuit breaker state, by name (for metrics; subgraphs not fetched yet are absent). */
  subgraphBreakerStates(): Record<string, BreakerState>;
  /**
   * Checks every subgraph now (bypassing the breakers) and returns their states with the breakers': for the
   * operator only — readiness does not depend on it (health.ts).
   */
  subgraphHealth(): Promise<SubgraphHealth>;
  /** Copies the usage counters to MongoDB now (metering/rollup.ts): for tests and the operator's tooling. */
  rollupUsage(): Promise<void>;
  /** Stops at once: no new connections, in-flight requests drain, then everything closes. */
  stop(): Promise<void>;
  /** What SIGTERM does (common/shutdown.ts): readiness fails at once, serves for the shutdown delay, then `stop`. */
  shutdown(): Promise<void>;
  /** The per-document caches and their sizes in estimated bytes, for tests and the flood benchmark. */
  caches(): CacheStats[];
  /** Where Prometheus scrapes the gateway (`http://host:port/metrics`), when metrics are on (`METRICS_PORT`). */
  metricsUrl?: string;
}

export interface StartGatewayOptions {
  logger?: Logger;
  /**
   * The authorization policy: a graphql-shield rule tree over the supergraph's API schema, and the rule for
   * introspection. Defaults to the policy of Tollgate's own graph (authz/rules.ts); a deployment serving another
   * supergraph brings its own, and startup fails if it leaves a field of that graph without a rule.
   */
  authorization?: { rules: RuleTree; introspectionRule: ShieldRule };
  /**
   * Which arguments name another subgraph's entities (references/declarations.ts). Like `authorization`, it
   * describes the graph served: Tollgate's own by default, none when a custom authorization policy is given
   * without one. Startup fails if a declared reference does not match the supergraph.
   */
  references?: ReferencePolicy;
  /** Told of every command the gateway sends to the control plane (identity.ts): for tests and diagnostics. */
  onControlPlaneCommand?: IdentityOptions['onControlPlaneCommand'];
  /**
   * Tests only: main.ts never passes it and no configuration reaches it. Awaited for every /graphql request right
   * after authentication took the caller and the tenant snapshot, before anything else reads them — so a test can
   * change the control plane in the middle of a request (gateway/src/tenant-snapshot.test.ts).
   */
  afterAuthenticationForTests?: (request: RequestContext) => Promise<void>;
  /** How often subgraphs are health-checked in the background for the operator's log; 0: on demand only. */
  subgraphHealthIntervalMs?: number;
}
