/**
 * The benchmark's baseline: bare `@apollo/gateway` + `@apollo/server` standalone on the same supergraph, with
 * default settings and no plugins. One unavoidable addition: Tollgate's subgraphs answer 401 to any request without
 * the gateway's internal token, so the data source's `willSendRequest` adds one (for a fixed caller, since a bare
 * gateway authenticates nobody). Everything else — the default fetcher (make-fetch-happen), planning, execution — is
 * Apollo's.
 *
 *   PORT=4110 SUPERGRAPH_PATH=… TOLLGATE_INTERNAL_SECRET=<hex> ACCOUNTS_URL=… PRODUCTS_URL=… INVENTORY_URL=… \
 *   REVIEWS_URL=… BENCH_TENANT=acme BENCH_PRINCIPAL=… BENCH_ROLES=customer node --import tsx bench/bare-gateway.ts
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import {
  DEFAULT_TOKEN_TTL_MS,
  INTERNAL_TOKEN_HEADER,
  deriveSubgraphKey,
  hashQuery,
  mintInternalToken,
} from '../common/internal-token';
import { PLATFORM_SUBGRAPH, PLATFORM_SUBGRAPH_URL } from '../gateway/src/platform-graph/sdl';

const env = process.env;
const secret = Buffer.from(env.TOLLGATE_INTERNAL_SECRET ?? '', 'hex');
const urls: Record<string, string | undefined> = {
  accounts: env.ACCOUNTS_URL,
  products: env.PRODUCTS_URL,
  inventory: env.INVENTORY_URL,
  reviews: env.REVIEWS_URL,
};

/** The one addition: the internal token the subgraphs require, minted for a fixed caller. */
class InternalTokenDataSource extends RemoteGraphQLDataSource {
  constructor(
    url: string,
    private readonly name: string,
    private readonly key: Buffer,
  ) {
    super({ url });
  }

  override willSendRequest({ request }: GraphQLDataSourceProcessOptions): void {
    const iat = Date.now();
    const token = mintInternalToken(this.key, {
      kind: 'op',
      aud: this.name,
      ten: env.BENCH_TENANT ?? 'acme',
      sub: env.BENCH_PRINCIPAL ?? '',
      roles: (env.BENCH_ROLES ?? 'customer').split(','),
      qh: hashQuery(request.query ?? ''),
      rid: randomUUID(),
      iat,
      exp: iat + DEFAULT_TOKEN_TTL_MS,
    });
    request.http?.headers.set(INTERNAL_TOKEN_HEADER, token);
  }
}

async function main(): Promise<void> {
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(env.SUPERGRAPH_PATH ?? 'schema/supergraph.graphql', 'utf8'),
    buildService: ({ name }) => {
      // Tollgate's own platform graph (usage) is answered in-process by Tollgate; the bench never asks for it, and
      // bare Apollo, which has nothing to answer it with, gets the supergraph's placeholder URL.
      if (name === PLATFORM_SUBGRAPH) return new RemoteGraphQLDataSource({ url: PLATFORM_SUBGRAPH_URL });
      const url = urls[name];
      if (!url) throw new Error(`no URL for subgraph ${name}`);
      return new InternalTokenDataSource(url, name, deriveSubgraphKey(secret, name));
    },
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port: Number(env.PORT ?? 4110), host: '127.0.0.1' },
  });
  process.stdout.write(`bare gateway listening at ${url}\n`);
  process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
