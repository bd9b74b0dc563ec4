import type { TenantRecord } from '../../gateway/src/tenants/tenant';
import type { ControlPlane } from '../../gateway/src/control-plane/open';
import { erasureKey, erasurePseudonym } from '../../gateway/src/tenants/erased';
import { eraseTenant, formatReceipt, type ErasureReceipt, type ErasureTrail } from './erase';
import type { PlatformClient } from './platform-client';
import { erasureKeysFromEnv, pseudonymOf, pseudonymsOf } from './pseudonym';
import { differingSettings } from './onboard';
import { tenantKeyPattern } from './redis-purge';

describe('onboarding re-runs', () => {
  const existing = {
    id: 'initech',
    name: 'initech',
    status: 'active',
    isolation: 'pooled',
    plan: { id: 'pro' },
    origins: ['https://app.initech.test'],
    authzMode: 'reject',
    costMode: 'enforce',
    safelistMode: 'off',
  } as unknown as TenantRecord;

  it('proceeds when every given setting is the existing one', () => {
    expect(differingSettings(existing, { id: 'initech', name: 'initech' })).toEqual([]);
    expect(differingSettings(existing, { id: 'initech', name: 'initech', plan: 'pro' })).toEqual([]);
  });

  it('names every setting that differs', () => {
    expect(
      differingSettings(existing, { id: 'initech', name: 'Initech', plan: 'free', origins: [], costMode: 'measure' }),
    ).toEqual(['name', 'plan', 'origins', 'cost mode']);
  });
});

describe('Redis purge', () => {
  it('matches the tenant’s hash-tagged keys only, from a validated id', () => {
    expect(tenantKeyPattern('acme')).toBe('*{acme}*');
    expect(() => tenantKeyPattern('*')).toThrow('invalid tenant id');
    expect(() => tenantKeyPattern('acme}*{')).toThrow('invalid tenant id');
  });
});

describe('erasure receipt', () => {
  const receipt: ErasureReceipt = {
    tenant: 'globex',
    pseudonym: `et_${'a'.repeat(64)}`,
    erasedAt: '2026-12-07T04:00:00.000Z',
    dataKey: 'absent',
    subgraphs: [
      { subgraph: 'reviews', collections: [{ collection: 'reviews', before: 3, after: 0, placement: 'pooled' }] },
    ],
    apiKeys: { revoked: 1, deleted: 1 },
    manifests: { retired: 0, deleted: 0 },
    redisKeys: 2,
    usageRecords: 5,
    audit: {
      sealed: { seq: 7, hash: 'f'.repeat(64), records: 7 },
      deleted: { events: 7, checkpoints: 1 },
      platformRecord: { seq: 12, hash: 'e'.repeat(64) },
    },
    complete: true,
  };

  it('lists before and after per subgraph and collection, and ties the tenant to its pseudonym and sealed chain', () => {
    expect(formatReceipt(receipt).split('\n')).toEqual([
      'Erasure receipt — tenant globex, 2026-12-07T04:00:00.000Z',
      `pseudonym    et_${'a'.repeat(64)}`,
      '  SUBGRAPH   COLLECTION      BEFORE  AFTER',
      '  reviews    reviews              3  0',
      'data key     absent',
      'API keys     1 revoked, 1 deleted',
      'manifests    0 retired, 0 deleted',
      'Redis keys   2 deleted',
      'usage        5 rollups deleted',
      `audit chain  sealed at seq 7 (${'f'.repeat(64)}), 7 records; 7 records and 1 checkpoints deleted`,
      `recorded     _platform seq 12 (${'e'.repeat(64)})`,
      'status       complete: every collection holds 0 documents of the tenant',
    ]);
    expect(formatReceipt({ ...receipt, complete: false })).toContain('INCOMPLETE: run it again');
  });

  it('lists a silo tenant’s rows in both placements and what became of its silo databases', () => {
    const silo: ErasureReceipt = {
      ...receipt,
      subgraphs: [
        {
          subgraph: 'reviews',
          collections: [
            { collection: 'reviews', before: 1, after: 0, placement: 'pooled' },
            { collection: 'reviews', before: 5, after: 0, placement: 'silo' },
          ],
          silo: 'dropped',
        },
        {
          subgraph: 'inventory',
          collections: [{ collection: 'stock', before: 0, after: 0, placement: 'pooled' }],
          silo: 'absent',
        },
      ],
    };
    expect(formatReceipt(silo).split('\n').slice(3, 7)).toEqual([
      '  reviews    reviews              1  0',
      '  reviews    reviews              5  0  in its silo database',
      '  inventory  stock                0  0',
      'silo DB      reviews: dropped',
    ]);
  });
});

describe('erasure pseudonyms', () => {
  const secret = Buffer.alloc(32, 7);
  const env = { TOLLGATE_INTERNAL_SECRET: secret.toString('hex') };

  it('is an HMAC of the id under a key of the secret: stable, per tenant, per secret, never the id', () => {
    const keys = erasureKeysFromEnv(env);
    const pseudonym = pseudonymOf(keys, 'globex');
    expect(pseudonym).toMatch(/^et_[0-9a-f]{64}$/);
    expect(pseudonym).toBe(erasurePseudonym(erasureKey(secret), 'globex'));
    expect(pseudonym).not.toContain('globex');
    expect(pseudonymOf(keys, 'acme')).not.toBe(pseudonym);
    expect(pseudonymOf(erasureKeysFromEnv({ TOLLGATE_INTERNAL_SECRET: 'ab'.repeat(32) }), 'globex')).not.toBe(
      pseudonym,
    );
    expect(keys.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('also tries the previous secrets, so a tombstone made before a rotation is still found', () => {
    const rotated = erasureKeysFromEnv({
      TOLLGATE_INTERNAL_SECRET: 'ab'.repeat(32),
      TOLLGATE_PREVIOUS_INTERNAL_SECRETS: ` ${secret.toString('hex')} `,
    });
    expect(pseudonymsOf(rotated, 'globex')).toEqual([
      pseudonymOf(rotated, 'globex'),
      pseudonymOf(erasureKeysFromEnv(env), 'globex'),
    ]);
  });

  it('refuses a malformed secret, and production without one (fail closed)', () => {
    expect(() => erasureKeysFromEnv({ TOLLGATE_INTERNAL_SECRET: 'abc' })).toThrow('hex of at least 32 bytes');
    expect(() => erasureKeysFromEnv({ ...env, TOLLGATE_PREVIOUS_INTERNAL_SECRETS: 'zz' })).toThrow(
      'TOLLGATE_PREVIOUS_INTERNAL_SECRETS',
    );
    expect(() => erasureKeysFromEnv({ NODE_ENV: 'production' })).toThrow('TOLLGATE_INTERNAL_SECRET is required');
    expect(() => pseudonymOf(erasureKeysFromEnv(env), 'a}*')).toThrow('invalid tenant id');
  });
});

describe('eraseTenant', () => {
  /** A control plane, platform and trail in memory that log every step, so the order is what is tested. */
  const NOW = new Date('2026-12-07T12:00:00.000Z');
  function world(state: { record: boolean; tombstone: boolean; chain: number; erasingSince?: Date }) {
    const steps: string[] = [];
    const controlPlane = {
      tenants: {
        getTenant: async () =>
          state.record
            ? {
                id: 'globex',
                status: state.erasingSince ? 'suspended' : 'active',
                isolation: 'pooled',
                ...(state.erasingSince ? { erasingSince: state.erasingSince } : {}),
              }
            : undefined,
        beginErasure: async (_id: string, now: Date) => {
          steps.push('suspend');
          state.erasingSince = now;
        },
        deleteTenant: async () => {
          steps.push('delete record');
          const had = state.record;
          state.record = false;
          return had;
        },
      },
      erasedTenants: {
        anyErased: async () => state.tombstone,
        record: async () => {
          steps.push('tombstone');
          state.tombstone = true;
        },
      },
      apiKeys: { purgeTenant: async () => (steps.push('api keys'), { revoked: 0, deleted: 0 }) },
      manifests: { purgeTenant: async () => (steps.push('manifests'), { retired: 0, deleted: 0 }) },
      usage: { purgeTenant: async () => (steps.push('usage'), 0) },
    } as unknown as ControlPlane;
    const platform = {
      subgraphs: ['reviews'],
      call: async () => (
        steps.push('subgraph erase'),
        { collections: [{ collection: 'reviews', before: 0, after: 0 }] }
      ),
    } as unknown as PlatformClient;
    const trail: ErasureTrail = {
      seal: async () => (steps.push('seal'), state.chain > 0 ? { seq: state.chain, hash: 'h', records: 2 } : undefined),
      recordErasure: async (record) => {
        steps.push(`record ${record.chain ? `head ${record.chain.seq}` : 'no chain'}`);
        return { seq: 1, hash: 'p' };
      },
      deleteChain: async () => {
        steps.push('delete chain');
        const events = state.chain;
        state.chain = 0;
        return { events, checkpoints: 0 };
      },
    };
    const erase = () =>
      eraseTenant({
        tenantId: 'globex',
        pseudonym: { current: `et_${'0'.repeat(64)}`, keyId: '0'.repeat(16), all: [`et_${'0'.repeat(64)}`] },
        controlPlane,
        platform,
        tenantKeys: { destroyDataKey: async () => (steps.push('data key'), 'absent') },
        trail,
        purgeRedis: async () => (steps.push('redis'), 0),
        settleMs: 5_000,
        sleep: async (ms) => void steps.push(`settle ${ms}`),
        now: () => NOW,
      });
    return { steps, erase };
  }

  it('keeps the record until the data is gone and the tombstone stored, and seals the chain before deleting it', async () => {
    const { steps, erase } = world({ record: true, tombstone: false, chain: 9 });
    const receipt = await erase();
    expect(steps).toEqual([
      'suspend',
      'settle 5000',
      'data key',
      'subgraph erase',
      'api keys',
      'manifests',
      'redis',
      'tombstone',
      'delete record',
      'settle 5000',
      'usage',
      'seal',
      'record head 9',
      'delete chain',
    ]);
    expect(receipt.audit).toMatchObject({ sealed: { seq: 9 }, deleted: { events: 9 } });
  });

  it('resumes an erasure stopped while it waited after the suspension: waits only what is left', async () => {
    const { steps, erase } = world({
      record: true,
      tombstone: false,
      chain: 0,
      erasingSince: new Date(NOW.getTime() - 2_000),
    });
    await erase();
    expect(steps.slice(0, 2)).toEqual(['settle 3000', 'data key']);
    expect(steps).not.toContain('suspend');
  });

  it('resumes an erasure stopped after the record went (its tombstone finds it), without waiting again', async () => {
    const { steps, erase } = world({ record: false, tombstone: true, chain: 4 });
    await erase();
    expect(steps).not.toContain('suspend');
    expect(steps.filter((s) => s.startsWith('settle'))).toEqual([]);
    expect(steps.slice(-3)).toEqual(['seal', 'record head 4', 'delete chain']);
    // And again: nothing left, still a success.
    const again = await erase();
    expect(again.audit).toEqual({ deleted: { events: 0, checkpoints: 0 }, platformRecord: { seq: 1, hash: 'p' } });
  });

  it('refuses an id that is neither a tenant nor erased', async () => {
    const { steps, erase } = world({ record: false, tombstone: false, chain: 0 });
    await expect(erase()).rejects.toThrow('no tenant globex');
    expect(steps).toEqual([]);
  });
});
