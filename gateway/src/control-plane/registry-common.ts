/**
 * What the control plane's collections share (tenants/registry.ts: tenants and plans; credentials/api-keys.ts: API
 * keys; persisted/registry.ts: manifests): the errors a write can end in, the schema options every collection is
 * strict with, and the one thing the key and manifest registries need from the tenants (`TenantLookup`) — so they
 * depend on this small interface, never on the tenant registry, and open.ts wires them together.
 */

/** A request the registry refuses because of what it was asked (bad values): the caller's mistake. */
export class RegistryValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'RegistryValidationError';
  }
}

/** A request the registry cannot carry out: the tenant, plan or key does not exist, or already does. */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export class TenantExistsError extends RegistryError {
  constructor(id: string) {
    super(`tenant ${id} already exists`);
    this.name = 'TenantExistsError';
  }
}

export class PlanExistsError extends RegistryError {
  constructor(id: string) {
    super(`plan ${id} already exists`);
    this.name = 'PlanExistsError';
  }
}

/** A stored document that fails validation: the platform's problem, reported without its content. */
export class CorruptRecordError extends Error {
  constructor(kind: string, id: string, problems: string[]) {
    super(`stored ${kind} ${id} is invalid: ${problems.join('; ')}`);
    this.name = 'CorruptRecordError';
  }
}

/** Applied to every control-plane schema: no version key, and unknown paths are errors in writes and filters. */
export const STRICT_SCHEMA_OPTIONS = { versionKey: false, strict: 'throw', strictQuery: 'throw' } as const;

/** What a registry of per-tenant records needs from the tenants: whether one exists (tenants/registry.ts answers). */
export interface TenantLookup {
  getTenant(id: string): Promise<object | undefined>;
}
