/**
 * The benchmark's third gateway: Hive Gateway (`@graphql-hive/gateway`, its runtime `createGatewayRuntime` on a
 * plain node:http server, as its Node.js docs show) on the same supergraph and subgraphs. The package is not a
 * dependency of Tollgate: `npm run bench` installs it on demand into `.data/hive` (HIVE_PREFIX), and this script
 * loads it from there at run time.
 *
 * HIVE_FEATURES=0 — bare: defaults, no plugins. HIVE_FEATURES=1 — with the features nearest to Tollgate's stages:
 * JWT verification of the same ES256 development tokens (issuer, audience, algorithm, token required), demand
 * control (@cost/@listSize from the supergraph, a max cost) and rate limiting of the root fields per tenant. See the
 * README's Performance section for what differs from Tollgate.
 *
 * Like the bare Apollo gateway, it must add the internal token Tollgate's subgraphs require: Hive cannot mint it,
 * and a static token cannot pass (the token is bound to the subgraph query's hash and lives 30 s). An `onFetch`
 * plugin — Hive's equivalent of Apollo's `willSendRequest` — mints it per subgraph fetch for a fixed caller (bare)
 * or for the JWT's subject, tenant and roles (features).
 *
 *   PORT=4112 HIVE_PREFIX=.data/hive TOLLGATE_INTERNAL_SECRET=<hex> ACCOUNTS_URL=… PRODUCTS_URL=… INVENTORY_URL=… \
 *   REVIEWS_URL=… BENCH_TENANT=acme BENCH_PRINCIPAL=… BENCH_ROLES=customer HIVE_FEATURES=0|1 node hive-gateway.js
 */
import { randomUUID, createPublicKey } from 'node:crypto';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEV_JWT_ALG, DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, loadOrCreateDevJwtKeys } from '../common/dev-secrets';
import {
  DEFAULT_TOKEN_TTL_MS,
  INTERNAL_TOKEN_HEADER,
  deriveSubgraphKey,
  hashQuery,
  mintInternalToken,
} from '../common/internal-token';

const env = process.env;
const secret = Buffer.from(env.TOLLGATE_INTERNAL_SECRET ?? '', 'hex');
const features = env.HIVE_FEATURES === '1';
const byUrl = new Map<string, { name: string; key: Buffer }>();
for (const name of ['accounts', 'products', 'inventory', 'reviews']) {
  const url = env[`${name.toUpperCase()}_URL`];
  if (!url) throw new Error(`no URL for subgraph ${name}`);
  byUrl.set(url, { name, key: deriveSubgraphKey(secret, name) });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the package is loaded at run time from its own prefix */
type Any = any;

async function main(): Promise<void> {
  const prefix = resolve(env.HIVE_PREFIX ?? '.data/hive');
  const hive: Any = await import(pathToFileURL(join(prefix, 'node_modules/@graphql-hive/gateway/dist/index.js')).href);
  const lru: Any = await import(
    pathToFileURL(join(prefix, 'node_modules/@graphql-mesh/cache-inmemory-lru/esm/index.js')).href
  );
  // The rate limiter's counters: in memory, Hive CLI's default cache (Tollgate's budgets live in Redis).
  const cache = features ? new lru.default() : undefined;

  const internalToken = {
    onFetch({ url, options, setOptions, context }: Any) {
      const target = byUrl.get(String(url));
      if (!target) return;
      const body = JSON.parse(String(options.body)) as { query?: string };
      const jwt = context?.jwt?.payload as { sub?: string; tenant?: string; roles?: string[] } | undefined;
      const iat = Date.now();
      const token = mintInternalToken(target.key, {
        kind: 'op',
        aud: target.name,
        ten: jwt?.tenant ?? env.BENCH_TENANT ?? 'acme',
        sub: jwt?.sub ?? env.BENCH_PRINCIPAL ?? '',
        roles: jwt?.roles ?? (env.BENCH_ROLES ?? 'customer').split(','),
        qh: hashQuery(body.query ?? ''),
        rid: randomUUID(),
        iat,
        exp: iat + DEFAULT_TOKEN_TTL_MS,
      });
      setOptions({ ...options, headers: { ...options.headers, [INTERNAL_TOKEN_HEADER]: token } });
    },
  };

  const keys = features ? await loadOrCreateDevJwtKeys() : undefined;
  const pem = keys
    ? createPublicKey({ key: keys.publicJwks.keys[0] as Any, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString()
    : '';
  const plugins = (ctx: Any): Any[] => {
    if (!features) return [internalToken];
    return [
      hive.useJWT({
        signingKeyProviders: [hive.createInlineSigningKeyProvider(pem)],
        tokenLookupLocations: [hive.extractFromHeader({ name: 'authorization', prefix: 'Bearer' })],
        tokenVerification: { issuer: DEV_JWT_ISSUER, audience: DEV_JWT_AUDIENCE, algorithms: [DEV_JWT_ALG] },
        reject: { missingToken: true, invalidToken: true },
      }),
      // Per tenant and root field, in memory, with a ceiling the run cannot reach (Tollgate's bench plan likewise).
      hive.useRateLimiting({
        cache: ctx.cache ?? cache,
        config: ['me', 'products', 'product', 'user'].map((field) => ({
          type: 'Query',
          field,
          max: 1_000_000_000,
          ttl: 60_000,
          identifier: '{context.jwt.payload.tenant}',
        })),
      }),
      internalToken,
    ];
  };

  const gateway = hive.createGatewayRuntime({
    supergraph: resolve(env.SUPERGRAPH_PATH ?? 'schema/supergraph.graphql'),
    logging: 'error',
    graphiql: false,
    landingPage: false,
    ...(features
      ? { cache, demandControl: { maxCost: 1_000_000, includeExtensionMetadata: false }, maskedErrors: true }
      : {}),
    // The supergraph's URLs are the default ports; the bench's subgraphs listen elsewhere.
    transportEntries: Object.fromEntries([...byUrl].map(([url, { name }]) => [name, { location: url }])),
    plugins: (ctx: Any) => plugins(ctx),
  });
  const server = createServer(gateway);
  const port = Number(env.PORT ?? 4112);
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  process.stdout.write(
    `hive gateway (${features ? 'features' : 'bare'}) listening at http://127.0.0.1:${port}/graphql\n`,
  );
  process.once('SIGTERM', () => {
    server.close();
    void Promise.resolve(gateway.dispose?.()).then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
