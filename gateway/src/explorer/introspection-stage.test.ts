/** The introspection stage on its own, with the real policy: who is refused, with which code, in any mode. */
import { parse, getOperationAST } from 'graphql';
import { AuthorizationGate, queryHashOf } from '../authz/gate';
import { introspectionRule, ruleTree } from '../authz/rules';
import { apiSchema, partner, person } from '../authz/test-fixtures';
import type { Caller, OperationRequest } from '../request';
import type { Stage as OperationStage } from '../pipeline/index';
import { createIntrospectionStage, exceptIntrospection, introspectionIn } from './introspection';

const stage = createIntrospectionStage({
  gate: new AuthorizationGate({ schema: apiSchema, rules: ruleTree, introspectionRule }),
});

function operation(query: string, caller: Caller): OperationRequest {
  const document = parse(query);
  return {
    requestId: 'r-1',
    log: { errorCodes: [] },
    caller,
    document,
    operation: getOperationAST(document)!,
    operationName: null,
    variables: {},
    queryHash: queryHashOf(query),
  };
}

const INTROSPECTION_DISABLED = {
  message:
    'Introspection needs the developer role, which this credential lacks: ask for a token with the developer role (in development: npm run token -- --tenant <tenant> --user <you> --roles developer).',
  extensions: expect.objectContaining({
    code: 'GRAPHQL_VALIDATION_FAILED',
    validationErrorCode: 'INTROSPECTION_DISABLED',
  }),
};

describe('introspection stage', () => {
  it.each<[string, Caller]>([
    ['a customer', person('customer')],
    ['an admin', person('admin', 'staff')],
    ['a partner with every scope', partner('catalog:read', 'inventory:read', 'reviews:read', 'users:read')],
  ])('refuses %s with INTROSPECTION_DISABLED', async (_who, caller) => {
    await expect(stage.run(operation('{ __schema { types { name } } }', caller))).rejects.toMatchObject(
      INTROSPECTION_DISABLED,
    );
    await expect(
      stage.run(operation('{ ...F } fragment F on Query { __type(name: "User") { name } }', caller)),
    ).rejects.toMatchObject(INTROSPECTION_DISABLED);
  });

  it('admits a developer and leaves other operations to the other stages', async () => {
    await expect(stage.run(operation('{ __schema { types { name } } }', person('developer')))).resolves.toBeUndefined();
    await expect(
      stage.run(operation('{ products(first: 1) { edges { node { name } } } }', person('customer'))),
    ).resolves.toBeUndefined();
  });

  it('tells introspection, ordinary and mixed operations apart', () => {
    const kind = (query: string) => {
      const document = parse(query);
      return introspectionIn(document, getOperationAST(document)!);
    };
    expect(kind('{ __typename __schema { queryType { name } } }')).toBe('introspection');
    expect(kind('{ __typename me { name } }')).toBe('none');
    expect(kind('{ ... on Query { __type(name: "User") { name } } me { name } }')).toBe('mixed');
  });

  it('skips the wrapped stages for introspection only', async () => {
    const ran: string[] = [];
    const wrapped = exceptIntrospection({
      name: 'limits',
      run: (op) => void ran.push(op.queryHash),
    } satisfies OperationStage);
    await wrapped.run(operation('{ __schema { types { name } } }', person('developer')));
    await wrapped.run(operation('{ me { name } }', person('developer')));
    expect(ran).toEqual([queryHashOf('{ me { name } }')]);
  });
});
