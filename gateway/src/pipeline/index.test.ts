import { ApolloServer } from '@apollo/server';
import { parse, print, type OperationDefinitionNode } from 'graphql';
import { queryHashOf } from '../authz/gate';
import type { FieldFilter } from '../authz/filter';
import { ErrorCode, gatewayError } from '../errors';
import { completeFilteredResponse } from './authorize';
import {
  createPipelinePlugin,
  replaceDocument,
  type GatewayContext,
  type OperationStage,
  type ResolvedOperation,
} from './index';

const typeDefs = 'type Query { hello(name: String): String secret: String broken: String }';

function context(): GatewayContext {
  return {
    requestId: 'req-12345678',
    caller: {
      tenantId: 'acme',
      principal: 'user-1',
      roles: ['customer'],
      credential: 'jwt',
      tokenExpiresAt: Date.now() + 60_000,
    },
    log: { errorCodes: [] },
  };
}

async function run(
  stages: OperationStage[],
  request: { query: string; operationName?: string; variables?: Record<string, unknown> },
  contextValue = context(),
) {
  let resolved = 0;
  const server = new ApolloServer<GatewayContext>({
    typeDefs,
    resolvers: {
      Query: {
        hello: () => (resolved++, 'world'),
        secret: () => 'hidden',
        broken: () => {
          throw new Error('boom');
        },
      },
    },
    plugins: [createPipelinePlugin(stages)],
  });
  await server.start();
  try {
    const response = await server.executeOperation(request, { contextValue });
    const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
    return { status: response.http.status, body, resolved, contextValue };
  } finally {
    await server.stop();
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the pipeline plugin', () => {
  it('runs the stages in order, each after the previous one finished', async () => {
    const events: string[] = [];
    const stage = (name: string, ms: number): OperationStage => ({
      name,
      async run() {
        events.push(`${name}:start`);
        await delay(ms);
        events.push(`${name}:end`);
      },
    });
    const { body, resolved } = await run([stage('slow', 20), stage('fast', 0), stage('last', 5)], {
      query: '{ hello }',
    });
    expect(events).toEqual(['slow:start', 'slow:end', 'fast:start', 'fast:end', 'last:start', 'last:end']);
    expect(body?.data).toEqual({ hello: 'world' });
    expect(resolved).toBe(1);
  });

  it('stops at the first refusal: its status and code are the answer, nothing later runs', async () => {
    const ran: string[] = [];
    const stages: OperationStage[] = [
      { name: 'allow', run: () => void ran.push('allow') },
      {
        name: 'deny',
        run: () => {
          throw gatewayError(ErrorCode.FORBIDDEN, 'Not for you.');
        },
      },
      { name: 'never', run: () => void ran.push('never') },
    ];
    const { status, body, resolved } = await run(stages, { query: '{ hello }' });
    expect(status).toBe(403);
    expect(body?.errors).toEqual([{ message: 'Not for you.', extensions: { code: 'FORBIDDEN' } }]);
    expect(ran).toEqual(['allow']);
    expect(resolved).toBe(0);
  });

  it('gives each stage the resolved operation and the caller', async () => {
    let seen: ResolvedOperation | undefined;
    const contextValue = context();
    await run(
      [{ name: 'look', run: (operation) => void (seen = operation) }],
      { query: 'query A { hello } query B($n: String) { hello(name: $n) }', operationName: 'B', variables: { n: 'x' } },
      contextValue,
    );
    expect(seen).toMatchObject({
      requestId: 'req-12345678',
      caller: contextValue.caller,
      operationName: 'B',
      variables: { n: 'x' },
      queryHash: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
    });
    expect(seen?.operation.name?.value).toBe('B');
    expect(seen?.document.definitions).toHaveLength(2);
    expect(contextValue.log.operationName).toBe('B');
  });

  it('refuses a document whose operation cannot be chosen, before any stage', async () => {
    const ran: string[] = [];
    const { status, body } = await run([{ name: 'stage', run: () => void ran.push('stage') }], {
      query: 'query A { hello } query B { hello }',
    });
    expect(status).toBe(400);
    expect(body?.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(ran).toEqual([]);
  });
});

describe("the codes of Apollo Server's answers in the request's log", () => {
  /** A filter that takes `fields` out of the operation, as filter-mode authorization would. */
  function filterOut(kept: string, fields: string[]): FieldFilter {
    const document = parse(kept);
    return {
      document,
      operation: document.definitions[0] as OperationDefinitionNode,
      queryHash: queryHashOf(print(document)),
      nulls: fields.map((key) => [{ key, nullable: true }]),
      errors: fields.map((key) => ({
        message: `Not authorized to access Query.${key}`,
        path: [key],
        extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE },
      })),
    };
  }

  it("records a stage's refusal exactly once", async () => {
    const deny: OperationStage = {
      name: 'deny',
      run: () => {
        throw gatewayError(ErrorCode.FORBIDDEN, 'Not for you.');
      },
    };
    const { contextValue } = await run([deny], { query: '{ hello }' });
    expect(contextValue.log.errorCodes).toEqual(['FORBIDDEN']);
  });

  it.each([
    ['a parse failure', '{ hello', 'GRAPHQL_PARSE_FAILED'],
    ['a validation failure', '{ nope }', 'GRAPHQL_VALIDATION_FAILED'],
    ['an execution error', '{ hello broken }', 'INTERNAL_SERVER_ERROR'],
  ])('records %s', async (_label, query, code) => {
    const { body, contextValue } = await run([], { query });
    expect(body?.errors?.map((error) => error.extensions?.code)).toEqual([code]);
    expect(contextValue.log.errorCodes).toEqual([code]);
  });

  it("records filter mode's UNAUTHORIZED_FIELD_OR_TYPE errors once each, with the execution's own", async () => {
    const query = '{ hello secret broken }';
    const filter = filterOut('{ hello broken }', ['secret']);
    const { body, contextValue } = await run(
      [
        {
          name: 'filter',
          run: (operation) => {
            replaceDocument(operation, filter);
            return (_request, response) => completeFilteredResponse(response, filter);
          },
        },
      ],
      { query },
    );
    expect(body?.data).toEqual({ hello: 'world', broken: null, secret: null });
    expect(body?.errors?.map((error) => error.extensions?.code)).toEqual([
      'INTERNAL_SERVER_ERROR',
      'UNAUTHORIZED_FIELD_OR_TYPE',
    ]);
    expect(contextValue.log.errorCodes).toEqual(['INTERNAL_SERVER_ERROR', 'UNAUTHORIZED_FIELD_OR_TYPE']);
  });

  it('records nothing for a clean answer', async () => {
    const { contextValue } = await run([], { query: '{ hello }' });
    expect(contextValue.log.errorCodes).toEqual([]);
  });
});
