/**
 * Plans in the control plane: the limits a tenant's plan gives it (plan.ts), stored in the `plans` collection
 * beside the tenants (registry.ts, which resolves each tenant's plan through this store). Every write is announced
 * (changes.ts) so running gateways drop the tenants they cached with the plan's old limits.
 *
 * As for tenants, a plan is validated before it is stored and again when it is read back (`toPlan`): a document
 * edited by hand must not give a tenant limits nobody checked.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { ChangePublisher } from './changes';
import {
  CorruptRecordError,
  PlanExistsError,
  RegistryError,
  RegistryValidationError,
  STRICT_SCHEMA_OPTIONS,
} from '../control-plane/registry-common';
import { DEFAULT_PLANS, planLimitProblems, type Plan, type PlanLimits } from './plan';
import { isPlanId } from './tenant';

interface PlanDoc {
  _id: string;
  name: string;
  limits: PlanLimits;
  updatedAt: Date;
}

const requiredNumber = { type: Number, required: true } as const;

function planModel(connection: Connection): Model<PlanDoc> {
  const schema = new Schema<PlanDoc>(
    {
      _id: { type: String, required: true },
      name: { type: String, required: true },
      limits: {
        maxCost: requiredNumber,
        budget: { capacity: requiredNumber, restoreRate: requiredNumber },
        maxDepth: requiredNumber,
        maxAliases: requiredNumber,
        maxRootFields: requiredNumber,
        maxDirectivesPerField: requiredNumber,
        maxTokens: requiredNumber,
        maxBodyBytes: requiredNumber,
        // Optional: plans stored before the audit trail existed get their id's defaults (audit/policy.ts).
        auditRetentionDays: { type: Number, required: false },
        auditCompleteTrail: { type: Boolean, required: false },
        monthlyCostQuota: { type: Number },
      },
    },
    { ...STRICT_SCHEMA_OPTIONS, collection: 'plans', timestamps: { createdAt: false, updatedAt: true } },
  );
  return connection.model<PlanDoc>('Plan', schema);
}

export interface PlanChange {
  name?: string;
  /** Only the limits given change; the result must still pass `planLimitProblems`. */
  limits?: Partial<Omit<PlanLimits, 'budget'>> & { budget?: Partial<PlanLimits['budget']> };
}

export class PlanStore {
  private readonly model: Model<PlanDoc>;

  constructor(
    connection: Connection,
    private readonly changes: ChangePublisher | undefined,
  ) {
    this.model = planModel(connection);
  }

  async list(): Promise<Plan[]> {
    const docs = await this.model.find({}).sort({ _id: 1 }).lean<PlanDoc[]>().exec();
    return docs.map(toPlan);
  }

  async get(id: string): Promise<Plan | undefined> {
    if (!isPlanId(id)) return undefined;
    const doc = await this.model.findById(id).lean<PlanDoc>().exec();
    return doc ? toPlan(doc) : undefined;
  }

  /** Adds a plan; an existing one (built-in or not) is never overwritten: PlanExistsError. */
  async create(plan: Plan): Promise<Plan> {
    const problems = planLimitProblems(plan.limits);
    if (!isPlanId(plan.id)) problems.push('id must be a plan id: lowercase letters, digits and "-", 2–40 characters');
    if (typeof plan.name !== 'string' || plan.name.trim().length === 0 || plan.name.length > 100)
      problems.push('name must be 1–100 characters');
    if (problems.length > 0) throw new RegistryValidationError(problems);
    // Insert-if-absent in one round trip, as TenantRegistry.createTenant: two operators creating the same plan
    // cannot both win.
    const result = await this.model.updateOne(
      { _id: plan.id },
      { $setOnInsert: { name: plan.name, limits: plan.limits, updatedAt: new Date() } },
      { upsert: true, timestamps: false },
    );
    if (result.upsertedCount === 0) throw new PlanExistsError(plan.id);
    await this.changes?.publish({ kind: 'plan', id: plan.id });
    const created = await this.get(plan.id);
    if (!created) throw new RegistryError(`no plan ${plan.id}`);
    return created;
  }

  async update(id: string, change: PlanChange): Promise<Plan> {
    const current = await this.get(id);
    if (!current) throw new RegistryError(`no plan ${id}`);
    const { budget, ...scalars } = change.limits ?? {};
    const limits: PlanLimits = { ...current.limits, ...scalars, budget: { ...current.limits.budget, ...budget } };
    const problems = planLimitProblems(limits);
    if (
      change.name !== undefined &&
      (typeof change.name !== 'string' || change.name.trim().length === 0 || change.name.length > 100)
    ) {
      problems.push('name must be 1–100 characters');
    }
    if (problems.length > 0) throw new RegistryValidationError(problems);
    // Only the limits that were given are written, so two operators changing different limits do not undo each other.
    const set: Record<string, unknown> = {};
    if (change.name !== undefined) set.name = change.name;
    for (const [key, value] of Object.entries(scalars)) if (value !== undefined) set[`limits.${key}`] = value;
    for (const [key, value] of Object.entries(budget ?? {}))
      if (value !== undefined) set[`limits.budget.${key}`] = value;
    if (Object.keys(set).length > 0) await this.model.updateOne({ _id: id }, { $set: set }).exec();
    await this.changes?.publish({ kind: 'plan', id });
    const updated = await this.get(id);
    if (!updated) throw new RegistryError(`no plan ${id}`);
    return updated;
  }

  /** Inserts the built-in plans that are missing; never touches a plan an operator has edited. */
  async ensureDefaults(): Promise<number> {
    const result = await this.model.bulkWrite(
      DEFAULT_PLANS.map((plan) => ({
        updateOne: {
          filter: { _id: plan.id },
          update: { $setOnInsert: { name: plan.name, limits: plan.limits, updatedAt: new Date() } },
          upsert: true,
          timestamps: false,
        },
      })),
    );
    return result.upsertedCount;
  }

  /** Throws RegistryError when there is no such plan: a tenant is given only a plan that exists. */
  async require(id: string): Promise<void> {
    if (!(await this.get(id))) throw new RegistryError(`no plan ${id}`);
  }

  /** The plan a stored tenant names; its absence is a corrupt record, not a caller's mistake. */
  async read(id: string): Promise<Plan> {
    const plan = await this.get(id);
    if (!plan) throw new CorruptRecordError('plan', id, ['it does not exist but a tenant names it']);
    return plan;
  }
}

function toPlan(doc: PlanDoc): Plan {
  const problems = planLimitProblems(doc.limits);
  if (!isPlanId(doc._id)) problems.push('its id is not a plan id');
  if (problems.length > 0) throw new CorruptRecordError('plan', String(doc._id), problems);
  const { limits } = doc;
  return Object.freeze({
    id: doc._id,
    name: doc.name,
    limits: Object.freeze({
      maxCost: limits.maxCost,
      budget: Object.freeze({ capacity: limits.budget.capacity, restoreRate: limits.budget.restoreRate }),
      maxDepth: limits.maxDepth,
      maxAliases: limits.maxAliases,
      maxRootFields: limits.maxRootFields,
      maxDirectivesPerField: limits.maxDirectivesPerField,
      maxTokens: limits.maxTokens,
      maxBodyBytes: limits.maxBodyBytes,
      ...(limits.auditRetentionDays == null ? {} : { auditRetentionDays: limits.auditRetentionDays }),
      ...(limits.auditCompleteTrail == null ? {} : { auditCompleteTrail: limits.auditCompleteTrail }),
      ...(limits.monthlyCostQuota === undefined || limits.monthlyCostQuota === null
        ? {}
        : { monthlyCostQuota: limits.monthlyCostQuota }),
    }),
  });
}
