import { getOperationAST, parse } from 'graphql';
import { httpStatusOf } from '../errors';
import type { ResolvedOperation } from './index';
import { operationKind } from './operation-kind';
import { unexpectedFilter } from '../testing/operation';

function operation(query: string): ResolvedOperation {
  const document = parse(query);
  const definition = getOperationAST(document);
  if (!definition) throw new Error('no operation');
  return {
    requestId: 'req-12345678',
    caller: { tenantId: 'acme', principal: 'u', roles: [], credential: 'jwt', tokenExpiresAt: 0 },
    document,
    operation: definition,
    operationName: null,
    variables: {},
    queryHash: '',
    filterFields: unexpectedFilter,
  };
}

describe('operation-kind stage', () => {
  it.each([['{ a }'], ['query Q { a }'], ['mutation M { a }']])('lets %s through', (query) => {
    expect(() => operationKind.run(operation(query))).not.toThrow();
  });

  it('refuses a subscription with 400 BAD_REQUEST', () => {
    let refusal: unknown;
    try {
      operationKind.run(operation('subscription S { a }'));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({ message: 'Subscriptions are not supported by this gateway.', extensions: { code: 'BAD_REQUEST' } });
    expect(httpStatusOf(refusal as Parameters<typeof httpStatusOf>[0])).toBe(400);
  });
});
