/**
 * Label values with a bound on how many there can be. A metric's series multiply by its labels' values, and every
 * value here comes from a request: left unbounded, 1,000 made-up tenant ids, paths or methods would be 1,000 new
 * series each. So a tenant gets its own label only when it is registered (authentication found it in the
 * directory) and only for the first `maxTenants` of those; the rest share `other`, and a request with no tenant at
 * all (unauthenticated) is `none`. Credentials never become label values: only ids the control plane knows.
 */

/** No tenant: the request was not authenticated. */
export const NO_TENANT = 'none';
/** A tenant past the bound, or one the directory does not know. */
export const OTHER_TENANT = 'other';
/** An operation that is not persisted or safelisted: its name is the client's choice. */
export const UNKNOWN_OPERATION = 'unknown';

export interface TenantLabels {
  /**
   * The label for a request's tenant: `registeredTenantId` is the id of the tenant authentication found active in
   * the directory, `claimedTenantId` the one the credential named when it did not (unknown, suspended).
   */
  of(registeredTenantId: string | undefined, claimedTenantId?: string): string;
  /** Tenants with a label of their own so far. */
  size(): number;
}

export interface TenantLabelOptions {
  /** At most this many tenants get a label of their own (`METRICS_MAX_TENANTS`); first come, first labelled. */
  maxTenants: number;
}

export function createTenantLabels(options: TenantLabelOptions): TenantLabels {
  if (!Number.isSafeInteger(options.maxTenants) || options.maxTenants < 0)
    throw new Error('maxTenants must be an integer ≥ 0');
  const labelled = new Set<string>();
  return {
    of(registeredTenantId, claimedTenantId) {
      if (registeredTenantId === undefined) return claimedTenantId === undefined ? NO_TENANT : OTHER_TENANT;
      if (labelled.has(registeredTenantId)) return registeredTenantId;
      // Reserved words stay unambiguous: a tenant that happens to be called `other` or `none` shares `other`.
      if (
        labelled.size >= options.maxTenants ||
        registeredTenantId === NO_TENANT ||
        registeredTenantId === OTHER_TENANT
      )
        return OTHER_TENANT;
      labelled.add(registeredTenantId);
      return registeredTenantId;
    },
    size: () => labelled.size,
  };
}

/**
 * The route labels, in a fixed order. A request's route and method are also known by their place in these lists
 * (`routeIndex`, `methodIndex`): the metrics find a request's series by numbers, without building a label string.
 */
export const ROUTE_LABELS = ['/graphql', '/healthz', '/readyz', '/schema.graphql', '/explorer', 'other'] as const;
/** `routeIndex` of `/graphql`. */
export const GRAPHQL_ROUTE = 0;
const ROUTE_INDEX = new Map<string, number>(ROUTE_LABELS.slice(0, 4).map((route, i) => [route, i]));
const EXPLORER_ROUTE = 4;
const OTHER_ROUTE = 5;

/** A path's place in ROUTE_LABELS: the gateway's few routes, anything else (a 404, a probe for files) `other`. */
export function routeIndex(path: string): number {
  const known = ROUTE_INDEX.get(path);
  if (known !== undefined) return known;
  if (path === '/explorer' || path.startsWith('/explorer/')) return EXPLORER_ROUTE;
  return OTHER_ROUTE;
}

/** The route of a path, from the gateway's few: anything else (a 404, a probe for files) is `other`. */
export function routeLabel(path: string): string {
  return ROUTE_LABELS[routeIndex(path)]!;
}

/** OpenTelemetry's `http.request.method` values the gateway labels: the methods it serves, the rest `_OTHER`. */
export const METHOD_LABELS = ['GET', 'POST', 'OPTIONS', 'HEAD', '_OTHER'] as const;
const METHOD_INDEX = new Map<string, number>(METHOD_LABELS.slice(0, 4).map((method, i) => [method, i]));
const OTHER_METHOD = 4;

/** A method's place in METHOD_LABELS. */
export function methodIndex(method: string): number {
  return METHOD_INDEX.get(method) ?? OTHER_METHOD;
}

/** OpenTelemetry's `http.request.method`: known methods as they are, anything else `_OTHER`. */
export function methodLabel(method: string): string {
  return METHOD_LABELS[methodIndex(method)]!;
}
