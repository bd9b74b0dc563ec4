/** The control plane on the test MongoDB (FerretDB by default), one fresh database per test file. */
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import type { ChangePublisher, ControlPlaneChange } from './changes';
import { DEFAULT_PLANS } from './plan';
import {
  CorruptRecordError,
  RegistryError,
  RegistryValidationError,
  TenantExistsError,
} from '../control-plane/registry-common';
import { openControlPlane, type ControlPlane } from '../control-plane/open';
import { erasureKey, erasureKeyId, erasurePseudonym } from './erased';

const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const dbName = `tollgate_control_test_${randomBytes(6).toString('hex')}`;
const announced: ControlPlaneChange[] = [];
const changes: ChangePublisher = {
  publish: async (change) => {
    announced.push(change);
  },
  close: async () => undefined,
};

let controlPlane: ControlPlane;
/** The same database without the registry's validation, to write what a hand edit could. */
let raw: Connection;

beforeAll(async () => {
  controlPlane = await openControlPlane({ mongoUri, dbName, changes });
  raw = await mongoose.createConnection(mongoUri, { dbName }).asPromise();
});

afterAll(async () => {
  await controlPlane?.dropDatabase();
  await controlPlane?.close();
  await raw?.close();
});

beforeEach(() => {
  announced.length = 0;
});

describe('plans', () => {
  it('starts with the built-in plans', async () => {
    expect(await controlPlane.tenants.listPlans()).toEqual([...DEFAULT_PLANS].sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('changes only the limits given, validated, and announces the change', async () => {
    const updated = await controlPlane.tenants.updatePlan('enterprise', {
      limits: { maxCost: 12_000, budget: { restoreRate: 7_500 } },
    });
    const builtIn = DEFAULT_PLANS.find((p) => p.id === 'enterprise')!;
    expect(updated.limits).toEqual({
      ...builtIn.limits,
      maxCost: 12_000,
      budget: { ...builtIn.limits.budget, restoreRate: 7_500 },
    });
    expect(announced).toEqual([{ kind: 'plan', id: 'enterprise' }]);
  });

  it.each([
    ['a zero limit', { limits: { maxCost: 0 } }, 'maxCost must be a positive integer'],
    ['a fraction', { limits: { maxDepth: 2.5 } }, 'maxDepth must be a positive integer'],
    ['a negative rate', { limits: { budget: { restoreRate: -1 } } }, 'budget.restoreRate must be a positive number'],
    ['an empty name', { name: ' ' }, 'name must be 1–100 characters'],
  ])('refuses %s', async (_label, change, problem) => {
    const error = await controlPlane.tenants.updatePlan('free', change).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryValidationError);
    expect((error as RegistryValidationError).problems).toContain(problem);
    expect(announced).toEqual([]);
  });

  it('refuses a plan that does not exist', async () => {
    await expect(controlPlane.tenants.updatePlan('platinum', { limits: { maxCost: 1 } })).rejects.toThrow(
      RegistryError,
    );
  });

  it('never overwrites an edited plan with the built-in one', async () => {
    await controlPlane.tenants.updatePlan('free', { limits: { maxCost: 750 } });
    expect(await controlPlane.tenants.ensureDefaultPlans()).toBe(0);
    expect((await controlPlane.tenants.getPlan('free'))?.limits.maxCost).toBe(750);
  });
});

describe('tenants', () => {
  it('creates a tenant with safe defaults and its plan resolved', async () => {
    const created = await controlPlane.tenants.createTenant({ id: 'initech', name: 'Initech' });
    expect(created).toEqual({
      id: 'initech',
      name: 'Initech',
      status: 'active',
      isolation: 'pooled',
      placementEpoch: 0,
      plan: await controlPlane.tenants.getPlan('free'),
      origins: [],
      authzMode: 'reject',
      costMode: 'enforce',
      safelistMode: 'off',
    });
    expect(announced).toEqual([{ kind: 'tenant', id: 'initech' }]);
  });

  it('refuses to create a tenant twice, and leaves the first alone', async () => {
    await controlPlane.tenants.createTenant({ id: 'hooli', name: 'Hooli', plan: 'pro' });
    await expect(
      controlPlane.tenants.createTenant({ id: 'hooli', name: 'Other', plan: 'free' }),
    ).rejects.toBeInstanceOf(TenantExistsError);
    expect(await controlPlane.tenants.getTenant('hooli')).toMatchObject({ name: 'Hooli', plan: { id: 'pro' } });
  });

  it.each([
    ['an id that is not a slug', { id: 'Acme Inc', name: 'x' }, 'tenant id must be a slug'],
    [
      'an origin with a path',
      { id: 'umbrella', name: 'x', origins: ['https://umbrella.test/app'] },
      'origins must be http(s) origins',
    ],
    [
      'an origin with a trailing slash',
      { id: 'umbrella', name: 'x', origins: ['https://umbrella.test/'] },
      'origins must be http(s) origins',
    ],
    ['a wildcard origin', { id: 'umbrella', name: 'x', origins: ['*'] }, 'origins must be http(s) origins'],
    ['a name with a newline', { id: 'umbrella', name: 'x\ny' }, 'name must be'],
    ['an unknown authz mode', { id: 'umbrella', name: 'x', authzMode: 'allow' as never }, 'authz mode must be one of'],
  ])('refuses %s', async (_label, input, problem) => {
    const error = await controlPlane.tenants.createTenant(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryValidationError);
    expect((error as Error).message).toContain(problem);
    expect(await controlPlane.tenants.getTenant('umbrella')).toBeUndefined();
  });

  it('refuses a plan that does not exist', async () => {
    await expect(controlPlane.tenants.createTenant({ id: 'umbrella', name: 'x', plan: 'platinum' })).rejects.toThrow(
      'no plan platinum',
    );
  });

  it('changes settings, keeps the rest, and announces the change', async () => {
    await controlPlane.tenants.createTenant({ id: 'wayne', name: 'Wayne', origins: ['https://wayne.test'] });
    announced.length = 0;
    const updated = await controlPlane.tenants.updateTenant('wayne', {
      origins: ['https://a.wayne.test', 'https://a.wayne.test', 'http://localhost:5173'],
      authzMode: 'filter',
      costMode: 'measure',
      safelistMode: 'log-unknown',
      plan: 'enterprise',
    });
    expect(updated).toMatchObject({
      name: 'Wayne',
      origins: ['https://a.wayne.test', 'http://localhost:5173'],
      authzMode: 'filter',
      costMode: 'measure',
      safelistMode: 'log-unknown',
      plan: { id: 'enterprise' },
    });
    expect(announced).toEqual([{ kind: 'tenant', id: 'wayne' }]);
  });

  it('suspends and resumes', async () => {
    await controlPlane.tenants.createTenant({ id: 'stark', name: 'Stark' });
    expect((await controlPlane.tenants.suspendTenant('stark')).status).toBe('suspended');
    expect((await controlPlane.tenants.resumeTenant('stark')).status).toBe('active');
  });

  it('changes the tier only through a move, which keeps its state until it ends', async () => {
    await expect(controlPlane.tenants.updateTenant('stark', { isolation: 'silo' })).rejects.toThrow(
      'tollgate tenant move',
    );
    expect((await controlPlane.tenants.getTenant('stark'))?.isolation).toBe('pooled');
    const silo = await controlPlane.tenants.createTenant({ id: 'silo-co', name: 'Silo Co', isolation: 'silo' });
    expect(silo).toMatchObject({ isolation: 'silo', placementEpoch: 0 });
    await expect(controlPlane.tenants.beginMove('silo-co', 'silo')).rejects.toThrow('already silo');

    const blocking = await controlPlane.tenants.beginMove('stark', 'silo');
    expect(blocking).toMatchObject({ isolation: 'pooled', move: { from: 'pooled', to: 'silo', phase: 'blocking' } });
    // Resuming an interrupted move finds it; a move elsewhere meanwhile is refused.
    expect((await controlPlane.tenants.beginMove('stark', 'silo')).move).toEqual(blocking.move);
    await expect(controlPlane.tenants.beginMove('stark', 'pooled')).rejects.toThrow('being moved to silo');
    const switched = await controlPlane.tenants.switchPlacement('stark');
    expect(switched).toMatchObject({ isolation: 'silo', placementEpoch: 1, move: { phase: 'switched' } });
    expect((await controlPlane.tenants.switchPlacement('stark')).placementEpoch).toBe(1);
    const ended = await controlPlane.tenants.endMove('stark');
    expect(ended.move).toBeUndefined();
    expect(ended).toMatchObject({ isolation: 'silo', placementEpoch: 1 });
  });

  it('refuses to change a tenant that does not exist', async () => {
    await expect(controlPlane.tenants.suspendTenant('nobody')).rejects.toThrow('no tenant nobody');
    await expect(controlPlane.tenants.suspendTenant('{"$ne":null}')).rejects.toThrow(RegistryError);
  });

  it('throws on a path the schema does not know instead of writing or ignoring it', async () => {
    await expect(controlPlane.tenants.updateTenant('stark', { owner: 'mallory' } as never)).rejects.toThrow(
      /not in schema|strict/i,
    );
  });

  it('finds nothing for an id that is not a tenant id, whatever its shape', async () => {
    for (const id of [{ $ne: null }, { $gt: '' }, '', 'ACME']) {
      expect(await controlPlane.tenants.getTenant(id as never)).toBeUndefined();
    }
  });

  it('lists the origins of active tenants only', async () => {
    await controlPlane.tenants.createTenant({
      id: 'cyberdyne',
      name: 'Cyberdyne',
      origins: ['https://cyberdyne.test'],
    });
    await controlPlane.tenants.createTenant({ id: 'tyrell', name: 'Tyrell', origins: ['https://tyrell.test'] });
    await controlPlane.tenants.suspendTenant('tyrell');
    const origins = await controlPlane.tenants.activeOrigins();
    expect(origins).toContain('https://cyberdyne.test');
    expect(origins).not.toContain('https://tyrell.test');
  });

  it('refuses to serve a stored tenant that fails validation', async () => {
    await raw.collection('tenants').insertOne({
      _id: 'corrupt' as never,
      name: 'Corrupt',
      status: 'enabled',
      isolation: 'pooled',
      plan: 'free',
      origins: ['*'],
      authzMode: 'reject',
      costMode: 'enforce',
      safelistMode: 'off',
    });
    const error = await controlPlane.tenants.getTenant('corrupt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptRecordError);
    await raw.collection('tenants').deleteOne({ _id: 'corrupt' as never });
  });

  it('refuses to serve a tenant whose plan has invalid limits', async () => {
    await raw.collection('plans').insertOne({ _id: 'broken' as never, name: 'Broken', limits: { maxCost: -1 } });
    await raw.collection('tenants').insertOne({
      _id: 'brittle' as never,
      name: 'Brittle',
      status: 'active',
      isolation: 'pooled',
      plan: 'broken',
      origins: [],
      authzMode: 'reject',
      costMode: 'enforce',
      safelistMode: 'off',
    });
    await expect(controlPlane.tenants.getTenant('brittle')).rejects.toBeInstanceOf(CorruptRecordError);
    await raw.collection('tenants').deleteOne({ _id: 'brittle' as never });
    await raw.collection('plans').deleteOne({ _id: 'broken' as never });
  });
});

describe('erasure', () => {
  it('deletes a tenant record and announces it; a second delete finds none', async () => {
    await controlPlane.tenants.createTenant({ id: 'leaving-co', name: 'Leaving' });
    announced.length = 0;
    expect(await controlPlane.tenants.deleteTenant('leaving-co')).toBe(true);
    expect(await controlPlane.tenants.getTenant('leaving-co')).toBeUndefined();
    expect(announced).toEqual([{ kind: 'tenant', id: 'leaving-co' }]);
    expect(await controlPlane.tenants.deleteTenant('leaving-co')).toBe(false);
    expect(await controlPlane.tenants.deleteTenant('{"$ne":null}')).toBe(false);
  });

  it('marks a tenant as being erased: suspended, not resumable, not movable; a re-run finds the mark', async () => {
    await controlPlane.tenants.createTenant({ id: 'fading-co', name: 'Fading' });
    announced.length = 0;
    const since = new Date('2026-12-07T10:00:00.000Z');
    const marked = await controlPlane.tenants.beginErasure('fading-co', since);
    expect(marked).toMatchObject({ status: 'suspended', erasingSince: since });
    expect(announced).toEqual([{ kind: 'tenant', id: 'fading-co' }]);
    // A re-run keeps the first run's start.
    expect((await controlPlane.tenants.beginErasure('fading-co', new Date())).erasingSince).toEqual(since);
    await expect(controlPlane.tenants.resumeTenant('fading-co')).rejects.toThrow('tenant fading-co is being erased');
    await expect(controlPlane.tenants.updateTenant('fading-co', { status: 'active' })).rejects.toThrow('being erased');
    await expect(controlPlane.tenants.beginMove('fading-co', 'silo')).rejects.toThrow(
      'tenant fading-co is being erased',
    );
    const stored = await controlPlane.tenants.getTenant('fading-co');
    expect(stored).toMatchObject({ status: 'suspended', isolation: 'pooled' });
    expect(stored?.move).toBeUndefined();
    // Other settings may still change (nothing of them lets the tenant be served again).
    expect((await controlPlane.tenants.updateTenant('fading-co', { name: 'Faded' })).name).toBe('Faded');
    await expect(controlPlane.tenants.beginErasure('nobody')).rejects.toThrow('no tenant nobody');
  });

  it('refuses to erase a tenant while it is being moved', async () => {
    await controlPlane.tenants.createTenant({ id: 'moving-co', name: 'Moving' });
    await controlPlane.tenants.beginMove('moving-co', 'silo');
    await expect(controlPlane.tenants.beginErasure('moving-co')).rejects.toThrow(
      'tenant moving-co is being moved to silo: finish the move',
    );
    const stored = await controlPlane.tenants.getTenant('moving-co');
    expect(stored).toMatchObject({ status: 'active', move: { phase: 'blocking' } });
    expect(stored?.erasingSince).toBeUndefined();
  });

  it('keeps tombstones by pseudonym only, insert-if-absent, and finds one among several pseudonyms', async () => {
    const key = erasureKey(Buffer.alloc(32, 3));
    const pseudonym = erasurePseudonym(key, 'leaving-co');
    const first = new Date('2026-12-01T00:00:00.000Z');
    await controlPlane.erasedTenants.record(pseudonym, erasureKeyId(key), first);
    await controlPlane.erasedTenants.record(pseudonym, erasureKeyId(key), new Date());
    const docs = await raw.db!.collection('erased_tenants').find({}).toArray();
    expect(docs).toEqual([{ _id: pseudonym, keyId: erasureKeyId(key), erasedAt: first }]);
    expect(JSON.stringify(docs)).not.toContain('leaving-co');
    const other = erasurePseudonym(erasureKey(Buffer.alloc(32, 4)), 'leaving-co');
    expect(await controlPlane.erasedTenants.anyErased([other, pseudonym])).toBe(true);
    expect(await controlPlane.erasedTenants.anyErased([other])).toBe(false);
    expect(await controlPlane.erasedTenants.anyErased(['leaving-co', { $ne: null } as unknown as string])).toBe(false);
    await expect(controlPlane.erasedTenants.record('leaving-co', 'k', first)).rejects.toThrow('invalid');
  });
});
