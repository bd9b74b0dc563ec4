/**
 * Tiny stand-in subgraphs for the gateway's own tests: a federation schema served over plain node:http that
 * verifies the gateway's internal token like a real subgraph would, records every request it gets (headers,
 * verified claims), and can be told to hang or to fail with an HTTP 500 that carries internals.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { graphql, type DocumentNode } from 'graphql';
import {
  INTERNAL_TOKEN_HEADER,
  deriveSubgraphKey,
  verifyInternalToken,
  type InternalClaims,
} from '../../../common/internal-token';
import { registerTestSecrets } from '../../../test/support/log-capture';

export interface RecordedRequest {
  headers: IncomingHttpHeaders;
  query: string;
  claims?: InternalClaims;
  /** Why the internal token was refused, when it was. */
  tokenError?: string;
}

/** `ok` answers; `hang` never answers; `http500` answers 500 with a body full of internals. */
export type TestSubgraphMode = 'ok' | 'hang' | 'http500';

export interface SubgraphContext {
  claims: InternalClaims;
}

export interface TestSubgraph {
  name: string;
  url: string;
  typeDefs: DocumentNode;
  requests: RecordedRequest[];
  mode: TestSubgraphMode;
  /**
   * While set, every request first awaits what it returns for the request's query (nothing: not held), then is
   * answered as `mode` says: a test holds answers until the gateway has done what it waits for (fetches overlap for
   * as long as the test needs).
   */
  hold: ((query: string) => Promise<void> | undefined) | undefined;
  stop(): Promise<void>;
}

export interface TestSubgraphOptions {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<SubgraphContext>;
  /** The gateway's internal secret; the subgraph derives its own key from it. */
  gatewaySecret: Buffer;
}

export async function startTestSubgraph(options: TestSubgraphOptions): Promise<TestSubgraph> {
  const schema = buildSubgraphSchema({
    typeDefs: options.typeDefs,
    resolvers: options.resolvers as GraphQLResolverMap<unknown>,
  });
  const key = deriveSubgraphKey(options.gatewaySecret, options.name);
  registerTestSecrets(options.gatewaySecret, key);
  const hanging = new Set<ServerResponse>();

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      query: string;
      variables?: Record<string, unknown>;
      operationName?: string;
    };
    const recorded: RecordedRequest = { headers: req.headers, query: body.query };
    subgraph.requests.push(recorded);

    const held = subgraph.hold?.(body.query);
    if (held) await held;
    if (subgraph.mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (subgraph.mode === 'http500') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'MongoServerError at mongodb://10.1.2.3:27017/tenants', stack: 'at Collection.find' }),
      );
      return;
    }
    const token = req.headers[INTERNAL_TOKEN_HEADER];
    try {
      if (typeof token !== 'string') throw new Error('missing');
      recorded.claims = verifyInternalToken(token, { key, audience: options.name, query: body.query });
    } catch (error) {
      recorded.tokenError = error instanceof Error ? error.message : String(error);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'unauthenticated', extensions: { code: 'UNAUTHENTICATED' } }] }));
      return;
    }
    const result = await graphql({
      schema,
      source: body.query,
      variableValues: body.variables,
      operationName: body.operationName,
      contextValue: { claims: recorded.claims } satisfies SubgraphContext,
    });
    // Claims to be publicly cacheable: the gateway must not pass that on to a tenant's response.
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' });
    res.end(JSON.stringify(result));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const subgraph: TestSubgraph = {
    name: options.name,
    url: `http://127.0.0.1:${port}/graphql`,
    typeDefs: options.typeDefs,
    requests: [],
    mode: 'ok',
    hold: undefined,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return subgraph;
}
