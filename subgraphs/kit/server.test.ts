import { GraphQLError, parse } from 'graphql';
import { Schema } from 'mongoose';
import { notFound } from './errors';
import { allow, isMember, serviceRules, type PermissionRules } from './permissions';
import { maskError, startSubgraph, type SubgraphDefinition } from './server';
import { startTestSubgraph, testMongoUri, uniqueDbName, userCaller, type TestSubgraph } from './testing';

/** A minimal subgraph whose resolvers fail in the ways the server must handle. */
const typeDefs = parse(`
  type Query {
    driverFailure: String
    missing: String
    refused: String
    unruled: String
  }
`);
const permissions: PermissionRules = {
  // No entities here, so no `_entities` field to rule.
  Query: { driverFailure: isMember, missing: isMember, refused: isMember, unruled: allow, _service: allow },
  _Service: serviceRules,
};
const failing: SubgraphDefinition<Record<string, never>, Record<string, never>> = {
  name: 'accounts',
  typeDefs,
  resolvers: {
    Query: {
      driverFailure: () => {
        throw Object.assign(
          new Error('E11000 duplicate key error collection: tollgate_accounts.users index: tenantId_1_email_1'),
          { code: 11000 },
        );
      },
      missing: () => {
        throw notFound('Thing');
      },
      refused: () => {
        throw new GraphQLError('leaky detail', { extensions: { code: 'SOMETHING_ELSE', detail: 'secret' } });
      },
      unruled: () => 'ok',
    },
  },
  models: () => ({}),
  createLoaders: () => ({}),
  permissions,
};

let sg: TestSubgraph;
const caller = userCaller('acme', 'admin@acme.test', ['admin']);

beforeAll(async () => {
  sg = await startTestSubgraph(failing);
});
afterAll(async () => {
  await sg?.close();
});

test('GET /healthz answers 200 without a token while MongoDB is connected, and says nothing more', async () => {
  const res = await fetch(sg.url.replace(/\/graphql$/, '/healthz'));
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

test('an unexpected error reaches the client as "Internal error" only, and is logged with request id and tenant', async () => {
  const res = await sg.request('{ driverFailure }', { as: caller, claims: { rid: 'req-boom' } });
  expect(res.body).toEqual({
    data: { driverFailure: null },
    errors: [
      {
        message: 'Internal error',
        locations: [{ line: 1, column: 3 }],
        path: ['driverFailure'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ],
  });
  expect(res.text).not.toMatch(/E11000|tollgate_|users|tenantId|stack/);
  const logged = sg.logs.find((line) => line.msg === 'internal error');
  expect(logged).toMatchObject({
    level: 'error',
    requestId: 'req-boom',
    tenant: 'acme',
    graphqlPath: ['driverFailure'],
  });
  expect(JSON.stringify(logged)).toContain('E11000');
});

test('errors with unknown codes are masked with all their extensions', async () => {
  const res = await sg.request('{ refused }', { as: caller });
  expect(res.body.errors).toEqual([
    expect.objectContaining({ message: 'Internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
  ]);
  expect(res.text).not.toMatch(/leaky|secret/);
});

test('client errors thrown by a resolver pass graphql-shield unchanged', async () => {
  const res = await sg.request('{ missing }', { as: caller });
  expect(res.body.errors).toEqual([
    expect.objectContaining({ message: 'Thing not found', extensions: { code: 'NOT_FOUND' } }),
  ]);
});

test('maskError keeps message, path and code of client errors and nothing else', () => {
  expect(
    maskError({
      message: 'Bad',
      path: ['a'],
      extensions: { code: 'BAD_USER_INPUT', stacktrace: ['x'], http: { status: 400 } },
    }),
  ).toEqual({
    message: 'Bad',
    path: ['a'],
    extensions: { code: 'BAD_USER_INPUT' },
  });
  expect(maskError({ message: 'Cast to ObjectId failed', extensions: {} })).toEqual({
    message: 'Internal error',
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
});

describe('startup refuses', () => {
  const options = () => ({
    port: 0,
    mongoUri: testMongoUri(),
    dbName: uniqueDbName('refuse'),
    internalKey: Buffer.alloc(32, 1),
  });

  test('a schema field without a permission rule', async () => {
    const { unruled: _unruled, ...withoutRule } = permissions.Query!;
    await expect(
      startSubgraph({ ...failing, permissions: { ...permissions, Query: withoutRule } }, options()),
    ).rejects.toThrow('no permission rule for Query.unruled');
  });

  test('a model without the tenant plugin', async () => {
    const unscoped: typeof failing = {
      ...failing,
      models: (connection) => {
        connection.model('Loose', new Schema({ name: String }));
        return {};
      },
    };
    await expect(startSubgraph(unscoped, options())).rejects.toThrow('model Loose is not tenant-scoped');
  });

  test('a short internal key', async () => {
    await expect(startSubgraph(failing, { ...options(), internalKey: Buffer.alloc(16) })).rejects.toThrow(
      'at least 32 bytes',
    );
  });
});

test('stop() closes the server and the database connection', async () => {
  const running = await startSubgraph(failing, {
    port: 0,
    mongoUri: testMongoUri(),
    dbName: uniqueDbName('stop'),
    internalKey: Buffer.alloc(32, 2),
  });
  await running.stop();
  expect(running.connection.readyState).toBe(0);
  await expect(fetch(running.url, { method: 'POST' })).rejects.toThrow();
});
