import { httpStatusOf } from '../errors';
import { DEFAULT_PLANS } from '../tenants/plan';
import type { TenantRecord } from '../tenants/tenant';
import type { Caller } from './index';
import { MOVE_RETRY_AFTER_S, tenantMoving } from './moving';
import { resolvedOperation } from '../testing/operation';

const CALLER: Caller = { tenantId: 'acme', principal: 'u', roles: [], credential: 'jwt', tokenExpiresAt: 0 };
const TENANT: TenantRecord = {
  id: 'acme',
  name: 'Acme',
  status: 'active',
  isolation: 'pooled',
  placementEpoch: 0,
  plan: DEFAULT_PLANS[0]!,
  origins: [],
  authzMode: 'reject',
  costMode: 'enforce',
  safelistMode: 'off',
};
const MOVING: TenantRecord = { ...TENANT, move: { from: 'pooled', to: 'silo', phase: 'blocking' } };

const run = (query: string, tenant: TenantRecord) => tenantMoving.run({ ...resolvedOperation(query, CALLER), tenant });

describe('tenant-moving stage', () => {
  it('lets everything through for a tenant that is not moving', () => {
    expect(() => run('mutation M { a }', TENANT)).not.toThrow();
  });

  it.each([['{ a }'], ['query Q { a }']])('lets the query %s of a moving tenant through', (query) => {
    expect(() => run(query, MOVING)).not.toThrow();
    expect(() => run(query, { ...MOVING, move: { from: 'pooled', to: 'silo', phase: 'switched' } })).not.toThrow();
  });

  it.each([['blocking'], ['switched']] as const)(
    'refuses a mutation of a moving tenant (%s) with 503 SERVICE_UNAVAILABLE and Retry-After',
    (phase) => {
      let refusal: unknown;
      try {
        run('mutation M { a }', { ...MOVING, move: { from: 'silo', to: 'pooled', phase } });
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: MOVE_RETRY_AFTER_S } });
      const error = refusal as Parameters<typeof httpStatusOf>[0];
      expect(httpStatusOf(error)).toBe(503);
      const http = error.extensions.http as { headers: Map<string, string> };
      expect(http.headers.get('retry-after')).toBe(String(MOVE_RETRY_AFTER_S));
    },
  );
});
