/** The pure parts of placement: silo database names and the epoch guard. */
import type { Connection } from 'mongoose';
import { StalePlacementError, createPlacements, siloDbName } from './placement';

describe('siloDbName', () => {
  it('names the tenant database beside the shared one', () => {
    expect(siloDbName('tollgate_products', 'acme')).toBe('tollgate_products__acme');
  });

  it.each([
    ['a tenant id that is not a slug', 'tollgate_products', 'Acme'],
    ['a tenant id with a separator in it', 'tollgate_products', 'a__b'],
    ['a name over 63 characters', 'tollgate_products', 'x'.repeat(40) + '-y'.repeat(3)],
    ['a shared name that already has the separator', 'tollgate__products', 'acme'],
  ])('refuses %s', (_label, base, tenant) => {
    expect(() => siloDbName(base, tenant)).toThrow();
  });
});

describe('the placement epoch', () => {
  const pooled = { pooled: true };
  const placements = () =>
    createPlacements({
      connection: { name: 'tollgate_products' } as Connection,
      pooled,
      build: () => ({ pooled: false }),
      indexes: 'verify',
      maxEpochs: 2,
    });

  it('refuses an epoch older than one already served, per tenant', () => {
    const p = placements();
    p.admit('acme', { tier: 'pooled', epoch: 1 });
    p.admit('acme', { tier: 'silo', epoch: 2 });
    expect(() => p.admit('acme', { tier: 'pooled', epoch: 1 })).toThrow(StalePlacementError);
    p.admit('acme', { tier: 'silo', epoch: 2 });
    p.admit('globex', { tier: 'pooled', epoch: 0 });
  });

  it('serves pooled placements from the shared models without touching the connection', async () => {
    await expect(placements().modelsFor('acme', { tier: 'pooled', epoch: 0 })).resolves.toBe(pooled);
  });
});
