/** The pure part of placing platform calls: what each call's body names, and when a command must fail. */
import type { ControlPlane } from '../../gateway/src/control-plane/open';
import type { TenantRecord } from '../../gateway/src/tenants/tenant';
import { TenantMovingError, placedPlatform, placementOf, requireUnmoved } from './placement';
import type { PlatformClient } from './platform-client';

const tenant = (changes: Partial<TenantRecord> = {}) =>
  ({ id: 'acme', isolation: 'silo', placementEpoch: 3, ...changes }) as TenantRecord;
const registry = (record: TenantRecord | undefined) =>
  ({ tenants: { getTenant: async () => record } }) as unknown as ControlPlane;

describe('placementOf', () => {
  it('is the tier and epoch of the record', () => {
    expect(placementOf(tenant())).toEqual({ tier: 'silo', epoch: 3 });
  });

  it('refuses a tenant being moved, with its code', () => {
    const moving = tenant({ move: { from: 'silo', to: 'pooled', phase: 'blocking' } });
    expect(() => placementOf(moving)).toThrow(TenantMovingError);
    expect(() => placementOf(moving)).toThrow(
      'tenant acme is being moved between tiers (TENANT_MOVING): run this again once `tenant move acme` has finished',
    );
  });
});

describe('requireUnmoved', () => {
  const placement = { tier: 'silo' as const, epoch: 3 };

  it('passes when the tenant is where the command found it', async () => {
    await expect(requireUnmoved(registry(tenant()), 'acme', placement, 'export')).resolves.toBeUndefined();
  });

  it.each([
    ['a move began', { move: { from: 'silo', to: 'pooled', phase: 'blocking' } }],
    ['a move switched it', { isolation: 'pooled', placementEpoch: 4 }],
    ['a move there and back ended', { placementEpoch: 5 }],
  ] as const)('fails when %s', async (_label, changes) => {
    await expect(
      requireUnmoved(registry(tenant(changes as Partial<TenantRecord>)), 'acme', placement, 'import'),
    ).rejects.toThrow('tenant acme was moved between tiers during the import (TENANT_MOVING)');
  });
});

describe('placedPlatform', () => {
  it('names the placement in every call but erase', async () => {
    const bodies: [string, Record<string, unknown> | undefined][] = [];
    const platform: PlatformClient = {
      subgraphs: ['products'],
      call: async <T>(_subgraph: string, op: string, _tenant: string, body?: Record<string, unknown>) => {
        bodies.push([op, body]);
        return {} as T;
      },
      async *lines(_subgraph, op, _tenant, body) {
        bodies.push([op, body]);
        yield '';
      },
    };
    const placed = placedPlatform(platform, { tier: 'silo', epoch: 3 });
    expect(placed.subgraphs).toEqual(['products']);
    await placed.call('products', 'stats', 'acme');
    await placed.call('products', 'import', 'acme', { collection: 'products' });
    await placed.call('products', 'erase', 'acme');
    for await (const _line of placed.lines('products', 'export', 'acme', { collection: 'products' }));
    expect(bodies).toEqual([
      ['stats', { placement: { tier: 'silo', epoch: 3 } }],
      ['import', { collection: 'products', placement: { tier: 'silo', epoch: 3 } }],
      ['erase', {}],
      ['export', { collection: 'products', placement: { tier: 'silo', epoch: 3 } }],
    ]);
  });
});
