import { httpStatusOf } from '../errors';
import type { Caller } from './index';
import { operationKind } from './operation-kind';
import { resolvedOperation } from '../testing/operation';

const CALLER: Caller = { tenantId: 'acme', principal: 'u', roles: [], credential: 'jwt', tokenExpiresAt: 0 };

describe('operation-kind stage', () => {
  it.each([['{ a }'], ['query Q { a }'], ['mutation M { a }']])('lets %s through', (query) => {
    expect(() => operationKind.run(resolvedOperation(query, CALLER))).not.toThrow();
  });

  it('refuses a subscription with 400 BAD_REQUEST', () => {
    let refusal: unknown;
    try {
      operationKind.run(resolvedOperation('subscription S { a }', CALLER));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({
      message: 'Subscriptions are not supported by this gateway.',
      extensions: { code: 'BAD_REQUEST' },
    });
    expect(httpStatusOf(refusal as Parameters<typeof httpStatusOf>[0])).toBe(400);
  });
});
