/**
 * Retention rules — how long a collection's documents are kept — per plan, overridden per tenant. Read from the
 * JSON file RETENTION_FILE names:
 *
 *   { "plans":   { "free": { "reviews": "90d" } },
 *     "tenants": { "acme": { "reviews": "365d", "products": "0" } } }
 *
 * A tenant's rule for a collection replaces its plan's; "0" means keep forever (it cancels a plan's rule). Ages are
 * durations (30m, 12h, 90d). Only collections whose age is known (their ids are minted at insert) can be swept: a
 * subgraph declares them (`agedCollections`), and refuses a rule for any other.
 */
import { isTenantId } from '../../common/ids';

export interface RetentionPolicy {
  plans: Record<string, Record<string, number>>;
  tenants: Record<string, Record<string, number>>;
}

export interface RetentionRule {
  collection: string;
  maxAgeMs: number;
}

const DURATION = /^(\d{1,6})(m|h|d)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const MAX_ENTRIES = 1_000;

export class RetentionPolicyError extends Error {
  constructor(problems: string[]) {
    super(`invalid retention policy: ${problems.join('; ')}`);
    this.name = 'RetentionPolicyError';
  }
}

function ageOf(value: unknown): number | undefined {
  if (value === '0') return 0;
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return ms > 0 ? ms : undefined;
}

function rules(section: unknown, where: string, ids: (id: string) => boolean, problems: string[]) {
  const out: Record<string, Record<string, number>> = {};
  if (section === undefined) return out;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    problems.push(`${where} must be an object`);
    return out;
  }
  const entries = Object.entries(section);
  if (entries.length > MAX_ENTRIES) problems.push(`${where} has more than ${MAX_ENTRIES} entries`);
  for (const [id, collections] of entries.slice(0, MAX_ENTRIES)) {
    if (!ids(id)) {
      problems.push(`${where}: "${id.slice(0, 64)}" is not an id`);
      continue;
    }
    if (typeof collections !== 'object' || collections === null || Array.isArray(collections)) {
      problems.push(`${where}.${id} must map collections to ages`);
      continue;
    }
    const byCollection: Record<string, number> = {};
    for (const [collection, age] of Object.entries(collections).slice(0, MAX_ENTRIES)) {
      const ms = ageOf(age);
      if (!NAME.test(collection)) problems.push(`${where}.${id}: "${collection.slice(0, 64)}" is not a collection`);
      else if (ms === undefined) problems.push(`${where}.${id}.${collection} must be an age such as 90d, or "0"`);
      else byCollection[collection] = ms;
    }
    out[id] = byCollection;
  }
  return out;
}

export function parseRetentionPolicy(text: string): RetentionPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RetentionPolicyError(['the file is not JSON']);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RetentionPolicyError(['the policy must be an object with "plans" and/or "tenants"']);
  const problems: string[] = [];
  const unknown = Object.keys(raw).filter((key) => key !== 'plans' && key !== 'tenants');
  if (unknown.length > 0) problems.push(`unknown keys: ${unknown.map((k) => k.slice(0, 32)).join(', ')}`);
  const policy = {
    plans: rules((raw as Record<string, unknown>).plans, 'plans', (id) => NAME.test(id), problems),
    tenants: rules((raw as Record<string, unknown>).tenants, 'tenants', isTenantId, problems),
  };
  if (problems.length > 0) throw new RetentionPolicyError(problems);
  return policy;
}

/** The rules that apply to one tenant on one plan: its own over its plan's, "0" dropping the collection. */
export function rulesFor(policy: RetentionPolicy, tenantId: string, planId: string): RetentionRule[] {
  const merged = { ...(policy.plans[planId] ?? {}), ...(policy.tenants[tenantId] ?? {}) };
  return Object.entries(merged)
    .filter(([, ms]) => ms > 0)
    .map(([collection, maxAgeMs]) => ({ collection, maxAgeMs }))
    .sort((a, b) => a.collection.localeCompare(b.collection));
}
