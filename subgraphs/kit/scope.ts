/**
 * The verified request context of one subgraph request, held in AsyncLocalStorage.
 *
 * Mongoose queries are lazy: they run when awaited, often inside DataLoader batches that fire on a later tick, far
 * from the resolver that built them. The tenant plugin therefore cannot take the tenant as an argument; it reads it
 * from here at the moment a query executes. The internal-auth middleware enters the scope around the whole HTTP
 * request, so everything the request causes — resolvers, loaders, mongoose hooks — sees the same tenant.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isTenantId, type Role } from '../../common/ids';
import type { PlacementClaim } from '../../common/internal-token';

export interface RequestScope {
  readonly tenantId: string;
  /** The user id or API key id the gateway authenticated. */
  readonly principal: string;
  readonly roles: readonly Role[];
  readonly requestId: string;
  /**
   * When the gateway stops waiting (ms since the epoch; see deadline.ts): database work is bounded by it and
   * nothing starts after it. Absent for work outside a gateway request (seeding, tests).
   */
  readonly deadline?: number;
  /** Where the tenant's documents live, from the gateway's signed context (kit/placement.ts); absent: pooled. */
  readonly placement?: PlacementClaim;
}

/** Thrown when tenant data is touched outside a verified request; the message never carries data. */
export class TenantScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantScopeError';
  }
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` (and everything it schedules) with `scope` as the current request context. */
export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  // Checked here as well as in the middleware: seeding and tests enter scopes too, and a malformed tenant id
  // in a filter is exactly what this module exists to prevent.
  if (!isTenantId(scope.tenantId)) throw new TenantScopeError('tenant scope: invalid tenant id');
  const frozen: RequestScope = Object.freeze({
    tenantId: scope.tenantId,
    principal: scope.principal,
    roles: Object.freeze([...scope.roles]),
    requestId: scope.requestId,
    ...(scope.deadline === undefined ? {} : { deadline: scope.deadline }),
    ...(scope.placement === undefined
      ? {}
      : { placement: Object.freeze({ tier: scope.placement.tier, epoch: scope.placement.epoch }) }),
  });
  return storage.run(frozen, fn);
}

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

export function requireScope(): RequestScope {
  const scope = storage.getStore();
  if (!scope) throw new TenantScopeError('tenant scope: no tenant in scope');
  return scope;
}

export function currentTenant(): string {
  return requireScope().tenantId;
}

export function hasRole(scope: RequestScope | null | undefined, ...roles: Role[]): boolean {
  return scope != null && scope.roles.some((role) => roles.includes(role));
}
