/**
 * Test helpers: a subgraph on an ephemeral port with a fresh database, and requests signed the way the gateway
 * signs them. Only tests import this module.
 */
import { randomBytes } from 'node:crypto';
import { isTenantId, userIdFor, type Role } from '../../common/ids';
import {
  deriveSubgraphKey,
  hashQuery,
  mintInternalToken,
  INTERNAL_TOKEN_HEADER,
  type InternalClaims,
} from '../../common/internal-token';
import { createLogger } from '../../common/logger';
import type { EncryptionOptions } from './encryption';
import { createMasterKeyProvider } from './encryption/key-provider';
import type { ConnectionLoaderMode } from './loaders';
import { startSubgraph, type RunningSubgraph, type SubgraphDefinition } from './server';
import { runInScope } from './scope';
import { registerTestSecrets } from '../../test/support/log-capture';

export function testMongoUri(): string {
  const uri = process.env.TEST_MONGODB_URI;
  if (!uri)
    throw new Error('TEST_MONGODB_URI is not set: run the tests through jest, whose global setup starts FerretDB');
  return uri;
}

/** A database name no other test file uses. */
export function uniqueDbName(label: string): string {
  return `test_${label}_${randomBytes(5).toString('hex')}`;
}

/** Someone calling through the gateway: a tenant, a principal and roles. */
export interface Caller {
  tenant: string;
  principal: string;
  roles: Role[];
}

/** A user of `tenant` with the id that accounts and development tokens derive from the e-mail address. */
export function userCaller(tenant: string, email: string, roles: Role[]): Caller {
  return { tenant, principal: userIdFor(tenant, email), roles };
}

/**
 * Runs `fn` as a request of `tenant` would, for tests that use models directly. The result is awaited inside the
 * scope: a mongoose query returned unawaited would otherwise execute after the scope has been left.
 */
export function inTenant<T>(tenant: string, fn: () => PromiseLike<T> | T, roles: Role[] = ['admin']): Promise<T> {
  if (!isTenantId(tenant)) throw new Error(`not a tenant id: ${tenant}`);
  return runInScope(
    { tenantId: tenant, principal: userIdFor(tenant, 'test@example.test'), roles, requestId: 'test' },
    async () => await fn(),
  );
}

export interface GraphQLResponseBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface TestResponse {
  status: number;
  body: GraphQLResponseBody;
  text: string;
}

export interface RequestOptions {
  /** Who the gateway says is calling; `'svc'` for the gateway's own requests. */
  as: Caller | 'svc';
  variables?: Record<string, unknown>;
  /** Claims to override in the minted token (audience, expiry, query hash …). */
  claims?: Partial<InternalClaims>;
  /** Signs with this key instead of the subgraph's. */
  key?: Buffer;
  /** Sends this header value instead of a minted token; `null` sends none. */
  token?: string | null;
}

export interface TestSubgraph extends RunningSubgraph {
  name: string;
  key: Buffer;
  /** Every log line the subgraph wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Posts `query` to the subgraph with a gateway token for `options.as`. */
  request(query: string, options: RequestOptions): Promise<TestResponse>;
  /** Drops the test database and stops the subgraph. */
  close(): Promise<void>;
}

export function mintTestToken(
  key: Buffer,
  audience: string,
  query: string,
  as: Caller | 'svc',
  overrides: Partial<InternalClaims> = {},
): string {
  const now = Date.now();
  const base: InternalClaims =
    as === 'svc'
      ? {
          kind: 'svc',
          aud: audience,
          ten: '',
          sub: '',
          roles: [],
          qh: hashQuery(query),
          rid: 'test-svc',
          iat: now,
          exp: now + 30_000,
        }
      : {
          kind: 'op',
          aud: audience,
          ten: as.tenant,
          sub: as.principal,
          roles: as.roles,
          qh: hashQuery(query),
          rid: `test-${randomBytes(4).toString('hex')}`,
          iat: now,
          exp: now + 30_000,
        };
  return mintInternalToken(key, { ...base, ...overrides });
}

export async function startTestSubgraph<TModels, TLoaders>(
  definition: SubgraphDefinition<TModels, TLoaders>,
  options: {
    dbName?: string;
    connectionLoader?: ConnectionLoaderMode;
    countCommands?: boolean;
    metrics?: boolean;
    /** Encryption at rest; on by default, under a master key of this test subgraph's own. */
    encryption?: EncryptionOptions;
  } = {},
): Promise<TestSubgraph> {
  const secret = randomBytes(32);
  const key = deriveSubgraphKey(secret, definition.name);
  registerTestSecrets(secret, key);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    base: { service: definition.name },
    sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  const running = await startSubgraph(definition, {
    port: 0,
    mongoUri: testMongoUri(),
    dbName: options.dbName ?? uniqueDbName(definition.name),
    internalKey: key,
    logger,
    monitorCommands: true,
    connectionLoader: options.connectionLoader,
    countCommands: options.countCommands,
    encryption: options.encryption ?? { keyProvider: createMasterKeyProvider(randomBytes(32)) },
    ...(options.metrics ? { metrics: { host: '127.0.0.1', port: 0 } } : {}),
  });

  const request = async (query: string, requestOptions: RequestOptions): Promise<TestResponse> => {
    const token =
      requestOptions.token === undefined
        ? mintTestToken(requestOptions.key ?? key, definition.name, query, requestOptions.as, requestOptions.claims)
        : requestOptions.token;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers[INTERNAL_TOKEN_HEADER] = token;
    const res = await fetch(running.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables: requestOptions.variables }),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as GraphQLResponseBody, text };
  };

  return {
    ...running,
    name: definition.name,
    key,
    logs,
    request,
    async close() {
      await running.connection.dropDatabase();
      await running.stop();
    },
  };
}

/** Counts the driver commands (find, insert, aggregate …) a connection sends while `fn` runs. */
export async function countCommands<T>(
  subgraph: RunningSubgraph,
  fn: () => Promise<T>,
): Promise<{ result: T; commands: string[] }> {
  const commands: string[] = [];
  const client = subgraph.connection.getClient();
  const listener = (event: { commandName: string }) => commands.push(event.commandName);
  client.on('commandStarted', listener);
  try {
    const result = await fn();
    return { result, commands };
  } finally {
    client.off('commandStarted', listener);
  }
}

/** An `_entities` query as the gateway sends it, selecting `selection` on the representations' types. */
export function entitiesQuery(selection: string): string {
  return `query Entities($representations: [_Any!]!) { _entities(representations: $representations) { ${selection} } }`;
}

/** Paths of the errors with `code`, joined with dots, for per-item assertions. */
export function errorPaths(body: GraphQLResponseBody, code: string): string[] {
  return (body.errors ?? [])
    .filter((error) => error.extensions?.code === code)
    .map((error) => (error.path ?? []).join('.'));
}
