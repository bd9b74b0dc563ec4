import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { clientErrorForPlannerLimit, mapPlannerLimitErrors } from './planner-errors';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type Executor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

describe('clientErrorForPlannerLimit', () => {
  it.each([
    ['Exceeded maximum recursive selections in this operation'],
    ['Number of non-local selections exceeds limit of 100000'],
    ['Too many options generated for Product.related, reached the limit of 10000'],
  ])('maps "%s" to a 400', (message) => {
    const error = clientErrorForPlannerLimit(new Error(message));
    expect(error?.message).toBe('The operation is too complex to plan.');
    expect(error?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } });
  });

  it('leaves other errors alone', () => {
    expect(clientErrorForPlannerLimit(new Error('Cannot read properties of undefined'))).toBeUndefined();
    expect(clientErrorForPlannerLimit('Exceeded maximum recursive selections')).toBeUndefined();
  });
});

describe('mapPlannerLimitErrors', () => {
  function gatewayWith(executor: Executor): GatewayInterface {
    return {
      load: async () => ({ executor }),
      onSchemaLoadOrUpdate: () => () => undefined,
      stop: async () => undefined,
    };
  }
  const requestContext = {} as Parameters<Executor>[0];

  it('rethrows planner limits as client errors', async () => {
    const wrapped = mapPlannerLimitErrors(
      gatewayWith(async () => {
        throw new Error('Exceeded maximum recursive selections in this operation');
      }),
    );
    const { executor } = await wrapped.load({ apollo: {} });
    await expect(executor?.(requestContext)).rejects.toMatchObject({
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });

  it('passes results and other errors through untouched', async () => {
    const crash = new GraphQLError('boom');
    let fail = false;
    const wrapped = mapPlannerLimitErrors(
      gatewayWith(async () => {
        if (fail) throw crash;
        return { data: { ok: true } };
      }),
    );
    const { executor } = await wrapped.load({ apollo: {} });
    await expect(executor?.(requestContext)).resolves.toEqual({ data: { ok: true } });
    fail = true;
    await expect(executor?.(requestContext)).rejects.toBe(crash);
  });
});
