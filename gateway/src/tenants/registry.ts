/**
 * Tenants in the control plane, each with its plan resolved (plans are stored by plan-store.ts, which this registry
 * fronts; control-plane/open.ts opens both, with the API keys and manifests, on one connection). The gateway reads
 * them (through the directory's cache), the CLI and the tests write them; every write is announced (changes.ts) so
 * running gateways drop what they cached.
 *
 * Every value is validated before it is stored and again when it is read back: a document edited by hand must
 * not turn into a tenant the gateway serves with limits nobody checked. Filters are built here from validated
 * ids only; the connection sanitizes filters and the schemas throw on unknown paths, so a typo in a filter fails
 * instead of matching every tenant.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { isTenantId } from '../../../common/ids';
import type { ChangePublisher } from './changes';
import {
  CorruptRecordError,
  RegistryError,
  RegistryValidationError,
  STRICT_SCHEMA_OPTIONS,
  TenantExistsError,
} from '../control-plane/registry-common';
import type { Plan } from './plan';
import { PlanStore, type PlanChange } from './plan-store';
import {
  DEFAULT_TENANT_SETTINGS,
  ISOLATION_TIERS,
  MOVE_PHASES,
  tenantSettingsProblems,
  type TenantMove,
  type TenantRecord,
  type TenantSettings,
} from './tenant';

interface TenantDoc extends TenantSettings {
  _id: string;
  /** Absent on tenants stored before placements existed: 0. */
  placementEpoch?: number;
  move?: TenantMove | null;
  /** Set by `beginErasure`: when `tollgate tenant erase` started on the tenant. */
  erasingSince?: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

function tenantModel(connection: Connection): Model<TenantDoc> {
  const schema = new Schema<TenantDoc>(
    {
      _id: { type: String, required: true },
      name: { type: String, required: true },
      status: { type: String, required: true },
      isolation: { type: String, required: true },
      placementEpoch: { type: Number, default: 0 },
      move: {
        type: new Schema<TenantMove>(
          {
            from: { type: String, required: true },
            to: { type: String, required: true },
            phase: { type: String, required: true },
          },
          { _id: false, strict: 'throw' },
        ),
        default: undefined,
      },
      erasingSince: { type: Date, default: undefined },
      plan: { type: String, required: true },
      origins: { type: [String], default: [] },
      authzMode: { type: String, required: true },
      costMode: { type: String, required: true },
      safelistMode: { type: String, required: true },
    },
    { ...STRICT_SCHEMA_OPTIONS, collection: 'tenants', timestamps: true },
  );
  return connection.model<TenantDoc>('Tenant', schema);
}

export interface NewTenant {
  id: string;
  name: string;
  plan?: string;
  /** `pooled` by default; a silo tenant's databases get their indexes from the CLI (subgraphs/placement-admin.ts). */
  isolation?: TenantSettings['isolation'];
  origins?: string[];
  authzMode?: TenantSettings['authzMode'];
  costMode?: TenantSettings['costMode'];
  safelistMode?: TenantSettings['safelistMode'];
}

const DEFAULT_PLAN_ID = 'free';

export class TenantRegistry {
  private readonly tenants: Model<TenantDoc>;
  private readonly plans: PlanStore;

  constructor(
    connection: Connection,
    private readonly changes: ChangePublisher | undefined,
  ) {
    this.tenants = tenantModel(connection);
    this.plans = new PlanStore(connection, changes);
  }

  async createTenant(input: NewTenant): Promise<TenantRecord> {
    if (!isTenantId(input.id))
      throw new RegistryValidationError(['tenant id must be a slug such as "acme" (a-z, 0-9, inner hyphens, 2–40)']);
    const settings: TenantSettings = {
      ...DEFAULT_TENANT_SETTINGS,
      name: input.name,
      isolation: input.isolation ?? DEFAULT_TENANT_SETTINGS.isolation,
      plan: input.plan ?? DEFAULT_PLAN_ID,
      origins: input.origins ?? [],
      authzMode: input.authzMode ?? DEFAULT_TENANT_SETTINGS.authzMode,
      costMode: input.costMode ?? DEFAULT_TENANT_SETTINGS.costMode,
      safelistMode: input.safelistMode ?? DEFAULT_TENANT_SETTINGS.safelistMode,
    };
    const problems = tenantSettingsProblems(settings);
    if (problems.length > 0) throw new RegistryValidationError(problems);
    await this.plans.require(settings.plan);
    // Insert-if-absent in one round trip: an existing tenant is never overwritten (nor its timestamps touched).
    const now = new Date();
    const result = await this.tenants.updateOne(
      { _id: input.id },
      { $setOnInsert: { ...settings, origins: unique(settings.origins), createdAt: now, updatedAt: now } },
      { upsert: true, timestamps: false },
    );
    if (result.upsertedCount === 0) throw new TenantExistsError(input.id);
    await this.changes?.publish({ kind: 'tenant', id: input.id });
    return this.requireTenant(input.id);
  }

  /** The tenant with its plan resolved; `undefined` when there is no such tenant (or the id is not one). */
  async getTenant(id: string): Promise<TenantRecord | undefined> {
    if (!isTenantId(id)) return undefined;
    const doc = await this.tenants.findById(id).lean<TenantDoc>().exec();
    if (!doc) return undefined;
    return this.toRecord(doc, await this.plans.read(doc.plan));
  }

  async listTenants(): Promise<TenantRecord[]> {
    const [docs, plans] = await Promise.all([
      this.tenants.find({}).sort({ _id: 1 }).lean<TenantDoc[]>().exec(),
      this.plans.list(),
    ]);
    const byId = new Map(plans.map((plan) => [plan.id, plan]));
    return docs.map((doc) => {
      const plan = byId.get(doc.plan);
      if (!plan) throw new CorruptRecordError('tenant', doc._id, ['its plan does not exist']);
      return this.toRecord(doc, plan);
    });
  }

  /** Changes the given settings; the id never changes. */
  async updateTenant(id: string, change: Partial<TenantSettings>): Promise<TenantRecord> {
    const problems = tenantSettingsProblems(change);
    // Changing the tier alone would strand the tenant's documents where they are: only a move changes it.
    if (change.isolation !== undefined) problems.push('isolation is changed with `tollgate tenant move`');
    if (problems.length > 0) throw new RegistryValidationError(problems);
    if (change.plan !== undefined) await this.plans.require(change.plan);
    const set: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(change)) if (value !== undefined) set[key] = value;
    if (change.origins) set.origins = unique(change.origins);
    // A tenant being erased stays suspended: serving it again would let writes in behind the erasure.
    const filter = set.status === 'active' ? { _id: id, erasingSince: null } : { _id: id };
    const found =
      isTenantId(id) && Object.keys(set).length > 0
        ? await this.tenants.findOneAndUpdate(filter, { $set: set }).lean().exec()
        : await this.getTenant(id);
    if (!found) {
      if ((await this.getTenant(id))?.erasingSince) throw new RegistryError(`tenant ${id} is being erased`);
      throw new RegistryError(`no tenant ${id}`);
    }
    await this.changes?.publish({ kind: 'tenant', id });
    return this.requireTenant(id);
  }

  suspendTenant(id: string): Promise<TenantRecord> {
    return this.updateTenant(id, { status: 'suspended' });
  }

  resumeTenant(id: string): Promise<TenantRecord> {
    return this.updateTenant(id, { status: 'active' });
  }

  /**
   * Deletes the tenant's record (announced, so gateways forget it: its tokens then get 403 FORBIDDEN, reason
   * TENANT_UNKNOWN). Only `tollgate tenant erase` calls it, after everything else of the tenant is gone and its
   * pseudonymous tombstone (erased.ts) is stored. True when there was one to delete.
   */
  async deleteTenant(id: string): Promise<boolean> {
    if (!isTenantId(id)) return false;
    const { deletedCount } = await this.tenants.deleteOne({ _id: id }).exec();
    await this.changes?.publish({ kind: 'tenant', id });
    return deletedCount > 0;
  }

  /** Every origin some active tenant allows: what a preflight, which carries no credentials, is checked against. */
  async activeOrigins(): Promise<string[]> {
    const docs = await this.tenants
      .find({ status: 'active' })
      .select({ origins: 1 })
      .lean<Pick<TenantDoc, 'origins'>[]>()
      .exec();
    return unique(docs.flatMap((doc) => doc.origins ?? []));
  }

  /**
   * Marks the tenant as being erased and suspends it, in one conditional write (or finds it marked, so an interrupted
   * `tenant erase` resumes). Refused while a move is under way: the move copies the tenant's documents and removes
   * its old copy, and an erasure run beside it could miss documents the copy writes after the erasure passed. A move,
   * in turn, is refused once this is set (`beginMove`), and the tenant cannot be resumed (`updateTenant`).
   */
  async beginErasure(id: string, now = new Date()): Promise<TenantRecord> {
    const tenant = await this.requireTenant(id);
    if (tenant.erasingSince) return tenant;
    if (tenant.move) {
      throw new RegistryError(
        `tenant ${id} is being moved to ${tenant.move.to}: finish the move (run \`tenant move\` again) before erasing it`,
      );
    }
    const result = await this.tenants
      .updateOne({ _id: id, move: null, erasingSince: null }, { $set: { status: 'suspended', erasingSince: now } })
      .exec();
    if (result.modifiedCount !== 1) throw new RegistryError(`tenant ${id} changed meanwhile; run the erasure again`);
    await this.changes?.publish({ kind: 'tenant', id });
    return this.requireTenant(id);
  }

  /**
   * Starts a move (or finds the one under way, so an interrupted `tenant move` resumes): stores `move` with phase
   * `blocking`, which makes every gateway refuse the tenant's mutations once it hears of it. Refuses a move to the
   * tier the tenant is already on, while another move to a different tier is under way, or once the tenant is being
   * erased (`beginErasure`).
   */
  async beginMove(id: string, to: TenantMove['to']): Promise<TenantRecord> {
    const tenant = await this.requireTenant(id);
    if (tenant.move) {
      if (tenant.move.to !== to) throw new RegistryError(`tenant ${id} is being moved to ${tenant.move.to}`);
      return tenant;
    }
    if (tenant.erasingSince) throw new RegistryError(`tenant ${id} is being erased`);
    if (tenant.isolation === to) throw new RegistryError(`tenant ${id} is already ${to}`);
    const move: TenantMove = { from: tenant.isolation, to, phase: 'blocking' };
    const result = await this.tenants
      .updateOne({ _id: id, isolation: tenant.isolation, move: null, erasingSince: null }, { $set: { move } })
      .exec();
    if (result.modifiedCount !== 1) throw new RegistryError(`tenant ${id} changed meanwhile; run the move again`);
    await this.changes?.publish({ kind: 'tenant', id });
    return this.requireTenant(id);
  }

  /** The switch: the tenant is now served from `move.to` under a new placement epoch; writes stay blocked. */
  async switchPlacement(id: string): Promise<TenantRecord> {
    const tenant = await this.requireTenant(id);
    if (!tenant.move) throw new RegistryError(`tenant ${id} is not being moved`);
    if (tenant.move.phase === 'switched') return tenant;
    const { from, to } = tenant.move;
    const result = await this.tenants
      .updateOne(
        { _id: id, isolation: from, 'move.phase': 'blocking' },
        {
          $set: { isolation: to, placementEpoch: tenant.placementEpoch + 1, move: { from, to, phase: 'switched' } },
        },
      )
      .exec();
    if (result.modifiedCount !== 1) throw new RegistryError(`tenant ${id} changed meanwhile; run the move again`);
    await this.changes?.publish({ kind: 'tenant', id });
    return this.requireTenant(id);
  }

  /** Ends a switched move: writes are accepted again, on the new placement. */
  async endMove(id: string): Promise<TenantRecord> {
    const tenant = await this.requireTenant(id);
    if (tenant.move?.phase !== 'switched') throw new RegistryError(`tenant ${id} has no switched move to end`);
    await this.tenants.updateOne({ _id: id, 'move.phase': 'switched' }, { $unset: { move: 1 } }).exec();
    await this.changes?.publish({ kind: 'tenant', id });
    return this.requireTenant(id);
  }

  // Plans, stored beside the tenants (plan-store.ts): here too, so the control plane's callers keep one registry.
  listPlans(): Promise<Plan[]> {
    return this.plans.list();
  }

  getPlan(id: string): Promise<Plan | undefined> {
    return this.plans.get(id);
  }

  /** Adds a plan; an existing one (built-in or not) is never overwritten: PlanExistsError. */
  createPlan(plan: Plan): Promise<Plan> {
    return this.plans.create(plan);
  }

  updatePlan(id: string, change: PlanChange): Promise<Plan> {
    return this.plans.update(id, change);
  }

  /** Inserts the built-in plans that are missing; never touches a plan an operator has edited. */
  ensureDefaultPlans(): Promise<number> {
    return this.plans.ensureDefaults();
  }

  private async requireTenant(id: string): Promise<TenantRecord> {
    const tenant = await this.getTenant(id);
    if (!tenant) throw new RegistryError(`no tenant ${id}`);
    return tenant;
  }

  private toRecord(doc: TenantDoc, plan: Plan): TenantRecord {
    const settings: TenantSettings = {
      name: doc.name,
      status: doc.status,
      isolation: doc.isolation,
      plan: doc.plan,
      origins: doc.origins ?? [],
      authzMode: doc.authzMode,
      costMode: doc.costMode,
      safelistMode: doc.safelistMode,
    };
    const problems = tenantSettingsProblems(settings);
    if (!isTenantId(doc._id)) problems.push('its id is not a tenant id');
    const placementEpoch = doc.placementEpoch ?? 0;
    if (!Number.isSafeInteger(placementEpoch) || placementEpoch < 0) problems.push('its placement epoch is invalid');
    const move = doc.move ?? undefined;
    if (
      move !== undefined &&
      (!ISOLATION_TIERS.includes(move.from) ||
        !ISOLATION_TIERS.includes(move.to) ||
        move.from === move.to ||
        !MOVE_PHASES.includes(move.phase))
    )
      problems.push('its move is invalid');
    if (problems.length > 0) throw new CorruptRecordError('tenant', String(doc._id), problems);
    return Object.freeze({
      id: doc._id,
      name: settings.name,
      status: settings.status,
      isolation: settings.isolation,
      placementEpoch,
      ...(move ? { move: Object.freeze({ from: move.from, to: move.to, phase: move.phase }) } : {}),
      ...(doc.erasingSince ? { erasingSince: doc.erasingSince } : {}),
      plan,
      origins: Object.freeze([...settings.origins]),
      authzMode: settings.authzMode,
      costMode: settings.costMode,
      safelistMode: settings.safelistMode,
    });
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
