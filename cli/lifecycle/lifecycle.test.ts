import type { TenantRecord } from '../../gateway/src/tenants/tenant';
import { formatReceipt, type ErasureReceipt } from './erase';
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
    erasedAt: '2026-12-07T04:00:00.000Z',
    dataKey: 'absent',
    subgraphs: [
      { subgraph: 'reviews', collections: [{ collection: 'reviews', before: 3, after: 0, placement: 'pooled' }] },
    ],
    apiKeys: { revoked: 1, deleted: 1 },
    manifests: { retired: 0, deleted: 0 },
    redisKeys: 2,
    complete: true,
  };

  it('lists before and after per subgraph and collection', () => {
    expect(formatReceipt(receipt).split('\n')).toEqual([
      'Erasure receipt — tenant globex, 2026-12-07T04:00:00.000Z',
      '  SUBGRAPH   COLLECTION      BEFORE  AFTER',
      '  reviews    reviews              3  0',
      'data key     absent',
      'API keys     1 revoked, 1 deleted',
      'manifests    0 retired, 0 deleted',
      'Redis keys   2 deleted',
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
    expect(formatReceipt(silo).split('\n').slice(2, 6)).toEqual([
      '  reviews    reviews              1  0',
      '  reviews    reviews              5  0  in its silo database',
      '  inventory  stock                0  0',
      'silo DB      reviews: dropped',
    ]);
  });
});
