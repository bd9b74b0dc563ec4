import { ApolloServer } from '@apollo/server';
import { ErrorCode, gatewayError } from '../errors';
import { createPipelinePlugin, refuse, type AfterHook, type GatewayContext, type Stage } from './index';

const typeDefs = 'type Query { hello: String }';

function context(): GatewayContext {
  return {
    requestId: 'req-runner-1',
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

async function run(stages: Stage[]) {
  let resolved = 0;
  const server = new ApolloServer<GatewayContext>({
    typeDefs,
    resolvers: { Query: { hello: () => (resolved++, 'world') } },
    plugins: [createPipelinePlugin(stages)],
  });
  await server.start();
  try {
    const contextValue = context();
    const response = await server.executeOperation({ query: '{ hello }' }, { contextValue });
    const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
    return { status: response.http.status, body, resolved, contextValue };
  } finally {
    await server.stop();
  }
}

/** A stage that notes when it runs and returns an after-hook noting what response it saw. */
function noting(name: string, events: string[]): Stage {
  const after: AfterHook = (_request, response) => {
    const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
    events.push(`${name}:after:${body?.data ? 'data' : (body?.errors?.[0]?.extensions?.code as string)}`);
  };
  return {
    name,
    run: () => {
      events.push(`${name}:run`);
      return after;
    },
  };
}

describe('the stage runner', () => {
  it('runs the stages in order, then each after-hook once, in stage order, with the response', async () => {
    const events: string[] = [];
    const { body, resolved } = await run([noting('a', events), noting('b', events), noting('c', events)]);
    expect(body?.data).toEqual({ hello: 'world' });
    expect(resolved).toBe(1);
    expect(events).toEqual(['a:run', 'b:run', 'c:run', 'a:after:data', 'b:after:data', 'c:after:data']);
  });

  it('stops at a thrown refusal; the after-hooks of the stages that ran still run, with the refusal', async () => {
    const events: string[] = [];
    const deny: Stage = {
      name: 'deny',
      run: () => {
        events.push('deny:run');
        throw gatewayError(ErrorCode.FORBIDDEN, 'Not for you.');
      },
    };
    const refusals: unknown[] = [];
    const notesRefusal: Stage = {
      name: 'notes',
      run: () => (request) => void refusals.push(request.refusal?.extensions.code),
    };
    const { status, resolved, contextValue } = await run([
      noting('a', events),
      notesRefusal,
      deny,
      noting('never', events),
    ]);
    expect(status).toBe(403);
    expect(resolved).toBe(0);
    expect(events).toEqual(['a:run', 'deny:run', 'a:after:FORBIDDEN']);
    // Apollo Server's executeOperation hands the plugins a shallow copy of the context: read it from a hook.
    expect(refusals).toEqual(['FORBIDDEN']);
    expect(contextValue.log.errorCodes).toEqual(['FORBIDDEN']);
  });

  it('answers a refusal made with refuse() and still runs that stage its after-hook', async () => {
    const events: string[] = [];
    const after: AfterHook = () => void events.push('limited:after');
    const limited: Stage = {
      name: 'limited',
      run: (request) => refuse(request, gatewayError(ErrorCode.RATE_LIMITED, 'Slow down.'), after),
    };
    const { status, body, resolved } = await run([limited, noting('never', events)]);
    expect(status).toBe(429);
    expect(body?.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(resolved).toBe(0);
    expect(events).toEqual(['limited:after']);
  });

  it('marks whether execution started, for after-hooks that charge only executed operations', async () => {
    const seen: (boolean | undefined)[] = [];
    const after: AfterHook = (request) => void seen.push(request.executed);
    const deny: Stage = {
      name: 'deny',
      run: () => {
        throw gatewayError(ErrorCode.FORBIDDEN, 'Not for you.');
      },
    };
    await run([{ name: 'ok', run: () => after }]);
    await run([{ name: 'ok', run: () => after }, deny]);
    expect(seen).toEqual([true, undefined]);
  });
});
