import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloGateway, LocalGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { getOperationAST, GraphQLError, parse, print, type GraphQLFieldResolver } from 'graphql';
import { inputRule, rule } from 'graphql-shield';
import { createLogger, type Logger } from '../../../common/logger';
import { AuthorizationGate, type RuleTree } from '../authz/gate';
import { introspectionRule, ruleTree } from '../authz/rules';
import { apiSchema, gateRequest, partner, person, supergraphSdl } from '../authz/test-fixtures';
import { createAuthorizeStage } from './authorize';
import type { AuthzMode } from '../tenants/tenant';
import { PLATFORM_SUBGRAPH, readPlatformSdl } from '../platform-graph/sdl';
import {
  createPipelinePlugin,
  type Caller,
  type GatewayContext,
  type OperationRequest,
  type OperationStage,
} from './index';

const gate = new AuthorizationGate({ schema: apiSchema, rules: ruleTree, introspectionRule });

function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line)) }), lines };
}

function operationOf(
  query: string,
  caller: Caller,
  options: { variables?: Record<string, unknown> } = {},
): OperationRequest {
  const request = gateRequest(query, caller, options);
  const operation = getOperationAST(request.document, null);
  if (!operation) throw new Error('no operation');
  return {
    ...request,
    requestId: 'req-1',
    log: { errorCodes: [] },
    operation,
    operationName: operation.name?.value ?? null,
  };
}

function stage(mode: AuthzMode, logger: Logger = recordingLogger().logger, rules?: RuleTree): OperationStage {
  const ownGate = rules ? new AuthorizationGate({ schema: apiSchema, rules, introspectionRule }) : gate;
  return createAuthorizeStage({ gate: ownGate, logger, modeFor: () => mode });
}

async function refusal(run: unknown): Promise<GraphQLError> {
  try {
    await run;
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const usersAndMe = 'query Directory { me { name } users(first: 5) { edges { node { name } } } }';

describe('reject mode', () => {
  it('refuses with FORBIDDEN and 403, naming the fields, and logs what was denied', async () => {
    const { logger, lines } = recordingLogger();
    const error = await refusal(stage('reject', logger).run(operationOf(usersAndMe, person('customer'))));
    expect(error.message).toBe('Not authorized to access Query.users.');
    expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', http: { status: 403 } });
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'authorization refused the operation',
        requestId: 'req-1',
        tenant: 'acme',
        operationName: 'Directory',
        mode: 'reject',
        denied: [
          {
            field: 'Query.users',
            paths: ['users'],
            rule: 'race(or(role:admin, role:staff), scope:users:read)',
            reason: 'forbidden',
          },
        ],
      }),
    ]);
  });

  it('refuses the whole document when its second mutation is denied', async () => {
    const mutations = `mutation {
      createProduct(input: { sku: "S", name: "N", price: 1, weight: 1 }) { id }
      inviteUser(input: { name: "Bo", email: "bo@acme.test", roles: [ADMIN] }) { id }
    }`;
    const error = await refusal(stage('reject').run(operationOf(mutations, person('staff'))));
    expect(error.message).toBe('Not authorized to access Mutation.inviteUser.');
  });

  it('names a handful of fields and counts the rest', async () => {
    const query = '{ product(id: "1") { id sku name price weight inStock quantity } }';
    const error = await refusal(stage('reject').run(operationOf(query, person())));
    expect(error.message).toBe(
      'Not authorized to access Query.product, Product.id, Product.sku, Product.name, Product.price and 3 more.',
    );
  });

  it('refuses invalid input with BAD_USER_INPUT and 400', async () => {
    const query = 'mutation { addReview(input: { productId: "1", rating: 7, body: "ok" }) { id } }';
    const error = await refusal(stage('reject').run(operationOf(query, person('customer'))));
    expect(error.message).toBe('input.rating must be less than or equal to 5');
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', http: { status: 400 } });
  });

  it('refuses FORBIDDEN first when fields are denied and input is invalid too', async () => {
    const query = 'mutation { inviteUser(input: { name: "", email: "not-an-address", roles: [STAFF] }) { id } }';
    const error = await refusal(stage('reject').run(operationOf(query, person('customer'))));
    expect(error.extensions.code).toBe('FORBIDDEN');
  });

  it('lets an allowed operation through without a word', async () => {
    const { logger, lines } = recordingLogger();
    await expect(stage('reject', logger).run(operationOf(usersAndMe, person('admin')))).resolves.toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('denies and logs a rule that fails', async () => {
    const { logger, lines } = recordingLogger();
    const failing = rule('lookupTenantFlags')(() => {
      throw new Error('flags unavailable');
    });
    const rules = { ...ruleTree, Query: { ...(ruleTree as Record<string, object>).Query, me: failing } };
    const run = stage('reject', logger, rules);
    const error = await refusal(run.run(operationOf('{ me { name } }', person('customer'))));
    expect(error.extensions.code).toBe('FORBIDDEN');
    expect(lines[0]).toMatchObject({
      level: 'error',
      msg: 'authorization rule failed; the field is denied',
      field: 'Query.me',
      rule: 'lookupTenantFlags',
      error: { name: 'Error', message: 'flags unavailable' },
    });
  });

  it('is the mode of every tenant modeFor does not name, and warns at startup about uncovered fields', async () => {
    const { logger, lines } = recordingLogger();
    const rules = { Query: { me: introspectionRule } };
    const partial = new AuthorizationGate({ schema: apiSchema, rules, introspectionRule });
    const byTenant = createAuthorizeStage({ gate: partial, logger });
    expect(lines[0]).toMatchObject({ level: 'warn', msg: expect.stringContaining('do not cover') });
    expect((lines[0]?.fields as string[]).length).toBeGreaterThan(30);
    const error = await refusal(byTenant.run(operationOf('{ product(id: "1") { id } }', person('admin'))));
    expect(error.extensions.code).toBe('FORBIDDEN');
  });
});

describe('shadow mode', () => {
  it('allows everything and logs every would-be denial with tenant, operation, path and rule', async () => {
    const { logger, lines } = recordingLogger();
    const query = 'query Peek { users(first: 5) { edges { node { email } } } product(id: "1") { quantity } }';
    await expect(stage('shadow', logger).run(operationOf(query, partner('users:read')))).resolves.toBeUndefined();
    expect(lines.every((l) => l.msg === 'authorization would deny' && l.tenant === 'acme')).toBe(true);
    expect(lines.map((l) => [l.operationName, l.field, l.paths, l.rule])).toEqual([
      ['Peek', 'User.email', ['users.edges.@.node.email'], 'and(isMember, not(isPartner))'],
      ['Peek', 'Query.product', ['product'], 'race(isMember, scope:catalog:read)'],
      ['Peek', 'Product.quantity', ['product.quantity'], 'race(isMember, scope:inventory:read)'],
    ]);
  });

  it('lets invalid input through too: the subgraphs still validate it', async () => {
    const query = 'mutation { addReview(input: { productId: "1", rating: 7, body: "ok" }) { id } }';
    await expect(stage('shadow').run(operationOf(query, person('customer')))).resolves.toBeUndefined();
  });
});

describe('filter mode', () => {
  it('hands the pipeline a filter instead of refusing', async () => {
    const { logger, lines } = recordingLogger();
    const request = operationOf(usersAndMe, person('customer'));
    // The filter replaces the request's document (request.ts, replaceDocument); its after-hook completes the answer.
    const after = await stage('filter', logger).run(request);
    expect(print(request.document).replace(/\s+/g, ' ')).toEqual('query Directory { me { name } }');
    expect(typeof after).toBe('function');
    expect(lines).toEqual([expect.objectContaining({ msg: 'authorization filtered fields', mode: 'filter' })]);
  });

  it('refuses mutations whole', async () => {
    const mutation = 'mutation { deleteReview(id: "1") adjustStock(productId: "1", delta: 1) { id } }';
    const request = operationOf(mutation, person('customer'));
    const original = request.document;
    const error = await refusal(stage('filter').run(request));
    expect(error.message).toBe('Not authorized to access Mutation.adjustStock.');
    expect(request.document).toBe(original);
  });

  it('refuses when nothing would be left to run', async () => {
    const query = '{ users(first: 5) { edges { cursor } } }';
    const request = operationOf(query, person('customer'));
    const original = request.document;
    const error = await refusal(stage('filter').run(request));
    expect(error.extensions.code).toBe('FORBIDDEN');
    expect(request.document).toBe(original);
  });

  it('refuses invalid input instead of filtering it', async () => {
    // The product graph's rules validate no query input (page sizes are the limits stage's), so a tree that does.
    const validNames = inputRule('validNames')((yup) => yup.object({ first: yup.number().max(10) }));
    const rules = { ...ruleTree, Query: { ...(ruleTree as Record<string, object>).Query, products: validNames } };
    const query = '{ products(first: 50) { pageInfo { hasNextPage } } users(first: 1) { pageInfo { hasNextPage } } }';
    const error = await refusal(
      stage('filter', recordingLogger().logger, rules).run(operationOf(query, person('customer'))),
    );
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('with Apollo Server and the gateway', () => {
  const product = { id: 'p1', sku: 'MUG', name: 'Mug', price: 900, weight: 350 };
  const users: Record<string, { id: string; name: string; email: string; roles: string[] }> = {
    u1: { id: 'u1', name: 'Ann', email: 'ann@acme.test', roles: ['CUSTOMER'] },
    u2: { id: 'u2', name: 'Bo', email: 'bo@acme.test', roles: ['STAFF'] },
  };
  const byId =
    (map: Record<string, unknown>): GraphQLFieldResolver<unknown, unknown, { id: string }> =>
    (_parent, { id }) =>
      map[id] ?? null;
  const resolvers: Record<string, object> = {
    accounts: {
      Query: { me: () => users.u1, user: byId(users) },
      User: { __resolveReference: (ref: { id: string }) => users[ref.id] },
    },
    products: {
      Query: { product: byId({ p1: product }) },
      Product: { __resolveReference: () => product },
    },
    inventory: { Product: { __resolveReference: (ref: { id: string }) => ({ ...ref, quantity: 7, inStock: true }) } },
    reviews: {},
  };

  const fetched: { subgraph: string; query: string }[] = [];
  class RecordingSubgraph extends LocalGraphQLDataSource {
    constructor(private readonly subgraph: string) {
      // The gateway-owned platform graph's SDL lives with the gateway (platform-graph/sdl.ts).
      const sdl =
        subgraph === PLATFORM_SUBGRAPH
          ? readPlatformSdl()
          : readFileSync(join(__dirname, `../../../subgraphs/${subgraph}/schema.graphql`), 'utf8');
      super(buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers[subgraph] as never }));
    }

    override process(options: GraphQLDataSourceProcessOptions) {
      fetched.push({ subgraph: this.subgraph, query: options.request.query ?? '' });
      return super.process(options);
    }
  }

  const servers: ApolloServer<GatewayContext>[] = [];
  async function serverWith(plugin: ApolloServerPlugin<GatewayContext>): Promise<ApolloServer<GatewayContext>> {
    const gateway = new ApolloGateway({ supergraphSdl, buildService: ({ name }) => new RecordingSubgraph(name) });
    const server = new ApolloServer<GatewayContext>({ gateway, plugins: [plugin] });
    await server.start();
    servers.push(server);
    return server;
  }
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
  beforeEach(() => {
    fetched.length = 0;
  });

  const modes: Record<string, AuthzMode> = { acme: 'filter' };
  const authorize = createAuthorizeStage({
    gate,
    logger: recordingLogger().logger,
    modeFor: async (tenantId) => modes[tenantId] ?? 'reject',
  });

  async function send(server: ApolloServer<GatewayContext>, query: string, caller: Caller) {
    const contextValue: GatewayContext = { requestId: 'req-1', caller, log: { errorCodes: [] } };
    const response: GraphQLResponse = await server.executeOperation({ query }, { contextValue });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return { status: response.http.status, result: response.body.singleResult, log: contextValue.log };
  }

  const stock = '{ product(id: "p1") { name quantity } }';

  it('answers the allowed fields, nulls the denied ones, and never fetches them', async () => {
    const server = await serverWith(createPipelinePlugin([authorize]));
    const { status, result, log } = await send(server, stock, partner('catalog:read'));
    expect(status).toBeUndefined();
    expect(result.data).toEqual({ product: { name: 'Mug', quantity: null } });
    expect(result.errors).toEqual([
      {
        message: 'Not authorized to access Product.quantity',
        path: ['product', 'quantity'],
        extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' },
      },
    ]);
    expect(log.errorCodes).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
    expect(fetched.map((f) => f.subgraph)).toEqual(['products']);
    expect(fetched[0]?.query).not.toContain('quantity');
  });

  it('plans the filtered document under its own hash: the full plan is neither reused nor replaced', async () => {
    const server = await serverWith(createPipelinePlugin([authorize]));
    expect((await send(server, stock, person('admin'))).result.data).toEqual({ product: { name: 'Mug', quantity: 7 } });
    expect(fetched.map((f) => f.subgraph)).toEqual(['products', 'inventory']);

    fetched.length = 0;
    expect((await send(server, stock, partner('catalog:read'))).result.data).toEqual({
      product: { name: 'Mug', quantity: null },
    });
    expect(fetched.map((f) => f.subgraph)).toEqual(['products']);

    fetched.length = 0;
    expect((await send(server, stock, person('staff'))).result.data).toEqual({ product: { name: 'Mug', quantity: 7 } });
    expect(fetched.map((f) => f.subgraph)).toEqual(['products', 'inventory']);
  });

  it('nulls a denied root field and answers the others', async () => {
    const server = await serverWith(createPipelinePlugin([authorize]));
    const { result } = await send(server, '{ me { name } user(id: "u2") { name email } }', person('customer'));
    expect(result.data).toEqual({ me: { name: 'Ann' }, user: null });
    expect(result.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['user'], 'UNAUTHORIZED_FIELD_OR_TYPE']]);
    expect(fetched.map((f) => f.query)).toEqual([expect.not.stringContaining('user(')]);
  });

  it('refuses with 403 before any subgraph request in reject mode', async () => {
    const server = await serverWith(createPipelinePlugin([authorize]));
    const rejecting = { ...partner('catalog:read'), tenantId: 'globex' };
    const { status, result } = await send(server, stock, rejecting);
    expect(status).toBe(403);
    expect(result.data).toBeUndefined();
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(fetched).toEqual([]);
  });
});
