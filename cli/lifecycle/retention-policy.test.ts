import { RetentionPolicyError, parseRetentionPolicy, rulesFor } from './retention-policy';

describe('retention policy', () => {
  const policy = parseRetentionPolicy(
    JSON.stringify({
      plans: { free: { reviews: '90d', products: '365d' } },
      tenants: { acme: { reviews: '30d', products: '0' }, globex: { reviews: '12h' } },
    }),
  );

  it('lets a tenant override and cancel its plan’s rules', () => {
    expect(rulesFor(policy, 'acme', 'free')).toEqual([{ collection: 'reviews', maxAgeMs: 30 * 86_400_000 }]);
    expect(rulesFor(policy, 'initech', 'free')).toEqual([
      { collection: 'products', maxAgeMs: 365 * 86_400_000 },
      { collection: 'reviews', maxAgeMs: 90 * 86_400_000 },
    ]);
    expect(rulesFor(policy, 'globex', 'pro')).toEqual([{ collection: 'reviews', maxAgeMs: 12 * 3_600_000 }]);
    expect(rulesFor(policy, 'initech', 'pro')).toEqual([]);
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['an unknown key', '{"plan":{}}'],
    ['a bad age', '{"plans":{"free":{"reviews":"90"}}}'],
    ['a zero age written as a duration', '{"plans":{"free":{"reviews":"0d"}}}'],
    ['a bad tenant id', '{"tenants":{"Acme Inc":{"reviews":"1d"}}}'],
    ['a bad collection', '{"tenants":{"acme":{"$where":"1d"}}}'],
  ])('refuses %s with a message', (_name, text) => {
    expect(() => parseRetentionPolicy(text)).toThrow(RetentionPolicyError);
  });
});
