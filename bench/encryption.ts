/**
 * Encryption at rest, the data tier's CPU per request with it on and off (issue 18 acceptance 6): an accounts and a
 * reviews subgraph per variant, as separate processes from the bench bundle, each on databases of its own seeded the
 * same way (the demo tenants plus 100 users and 100 reviews of acme), then the same sequential requests to each
 * variant in turn, on/off/on/off; CPU seconds of the subgraph processes from /proc, divided by the requests.
 *
 * Two reads per subgraph: a page of 100 users with name and e-mail (200 values opened) and of 100 review bodies
 * (100 opened) — the worst case of these subgraphs — and a page of 100 users with ids only (nothing opened: what
 * the variants cost when no encrypted field is selected).
 */
import { randomBytes } from 'node:crypto';
import { seedDemoTenants, demoProductId } from '../demo/subgraph-data';
import { encryptionOptionsOf } from '../subgraphs/kit/encryption';
import { readEncryptionSettings } from '../common/master-key';
import { mintTestToken, userCaller, type Caller } from '../subgraphs/kit/testing';
import { deriveSubgraphKey } from '../common/internal-token';
import { cpuSeconds, median } from './cpu';
import { SHIPPED_FLAGS, ENCRYPTION_PORT_BASE, ENCRYPTION_REQUESTS, say } from './settings';
import { EMPTY_POST, subgraphEnv, waitFor, type Launcher } from './processes';

export type EncryptionVariant = 'on' | 'off';
const VARIANTS: readonly EncryptionVariant[] = ['on', 'off'];

export interface EncryptionResult {
  query: string;
  /** Median over rounds of the subgraph's CPU milliseconds per request. */
  cpuMsPerRequest: Record<EncryptionVariant, number>;
  requests: number;
  /** Requests retried after SERVICE_UNAVAILABLE so far (a loaded machine); their CPU is in the figures. */
  retries: number;
}

const QUERIES: { name: string; subgraph: 'accounts' | 'reviews'; query: string }[] = [
  {
    name: 'users(100) name email',
    subgraph: 'accounts',
    query: '{ users(first: 100) { edges { node { id name email } } } }',
  },
  { name: 'users(100) id only', subgraph: 'accounts', query: '{ users(first: 100) { edges { node { id } } } }' },
  {
    name: 'product reviews(100) body',
    subgraph: 'reviews',
    query:
      'query R($r: [_Any!]!) { _entities(representations: $r) { ... on Product { reviews(first: 100) { edges { node { rating body } } } } } }',
  },
];

const dbFor = (variant: EncryptionVariant) => (name: string) => `tollgate_bench_enc_${variant}_${name}`;

export async function encryptionBench(
  launcher: Launcher,
  mongoUri: string,
  bundle: string,
): Promise<EncryptionResult[]> {
  const secret = randomBytes(32);
  const admin: Caller = userCaller('acme', 'admin@acme.test', ['admin']);
  const productId = demoProductId('acme', 'MUG-001');
  const on = encryptionOptionsOf(readEncryptionSettings(process.env, []));
  const urls = {} as Record<EncryptionVariant, Record<'accounts' | 'reviews', string>>;
  const pids = {} as Record<EncryptionVariant, Record<'accounts' | 'reviews', number>>;
  for (const [i, variant] of VARIANTS.entries()) {
    await seedDemoTenants({ mongoUri, dbNameFor: dbFor(variant), encryption: variant === 'on' ? on : 'off' });
    urls[variant] = {} as Record<'accounts' | 'reviews', string>;
    pids[variant] = {} as Record<'accounts' | 'reviews', number>;
    for (const [j, name] of (['accounts', 'reviews'] as const).entries()) {
      const port = ENCRYPTION_PORT_BASE + i * 2 + j;
      const child = launcher.launch(
        `subgraph-${name}-encryption-${variant}`,
        [bundle, name],
        subgraphEnv(name, port, {
          mongoUri,
          dbNameFor: dbFor(variant),
          secret,
          extraEnv: { ENCRYPTION_AT_REST: variant },
        }),
        { core: 1, nodeFlags: SHIPPED_FLAGS },
      );
      urls[variant][name] = `http://127.0.0.1:${port}/graphql`;
      pids[variant][name] = child.pid!;
      await waitFor(urls[variant][name], EMPTY_POST);
    }
  }
  // The machine is shared: a request refused for load (SERVICE_UNAVAILABLE) is retried, up to 3 times, and counted.
  let retries = 0;
  const post = async (
    variant: EncryptionVariant,
    subgraph: 'accounts' | 'reviews',
    query: string,
    variables = {},
  ): Promise<unknown> => {
    for (let attempt = 0; ; attempt += 1) {
      const token = mintTestToken(deriveSubgraphKey(secret, subgraph), subgraph, query, admin);
      const res = await fetch(urls[variant][subgraph], {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'tollgate-context': token },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
      if (!body.errors) return body;
      if (attempt < 3 && body.errors.every((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE')) {
        retries += 1;
        continue;
      }
      throw new Error(`bench request failed: ${JSON.stringify(body.errors)}`);
    }
  };

  // 100 users and 100 reviews of one product in acme, once per database (ids derived, so reruns add nothing).
  for (const variant of VARIANTS) {
    for (let n = 0; n < 100; n += 1) {
      const email = `bench${n}@acme.test`;
      await post(variant, 'accounts', 'mutation I($i: InviteUserInput!) { inviteUser(input: $i) { id } }', {
        i: { name: `Bench User ${n}`, email, roles: ['CUSTOMER'] },
      }).catch(() => undefined); // already there from an earlier run
    }
    const reviews = (await post(variant, 'reviews', QUERIES[2]!.query, {
      r: [{ __typename: 'Product', id: productId }],
    })) as { data: { _entities: { reviews: { edges: unknown[] } }[] } };
    for (let n = reviews.data._entities[0]!.reviews.edges.length; n < 100; n += 1) {
      const author = userCaller('acme', `bench${n}@acme.test`, ['customer']);
      const query = 'mutation A($i: AddReviewInput!) { addReview(input: $i) { id } }';
      const token = mintTestToken(deriveSubgraphKey(secret, 'reviews'), 'reviews', query, author);
      await fetch(urls[variant].reviews, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'tollgate-context': token },
        body: JSON.stringify({
          query,
          variables: { i: { productId, rating: 1 + (n % 5), body: `Bench review ${n}: ${'words '.repeat(30)}` } },
        }),
      });
    }
  }

  const results: EncryptionResult[] = [];
  for (const { name, subgraph, query } of QUERIES) {
    const variables = subgraph === 'reviews' ? { r: [{ __typename: 'Product', id: productId }] } : {};
    const perRound: Record<EncryptionVariant, number[]> = { on: [], off: [] };
    for (let round = 0; round < 2; round += 1) {
      for (const variant of VARIANTS) {
        for (let n = 0; n < 20; n += 1) await post(variant, subgraph, query, variables); // warm-up
        const pid = pids[variant][subgraph];
        const before = cpuSeconds(pid);
        for (let n = 0; n < ENCRYPTION_REQUESTS; n += 1) await post(variant, subgraph, query, variables);
        perRound[variant].push(((cpuSeconds(pid) - before) * 1000) / ENCRYPTION_REQUESTS);
      }
    }
    const result: EncryptionResult = {
      query: name,
      cpuMsPerRequest: { on: median(perRound.on), off: median(perRound.off) },
      requests: ENCRYPTION_REQUESTS,
      retries,
    };
    say(
      `encryption ${name}: ${result.cpuMsPerRequest.on.toFixed(2)} ms CPU/request on, ${result.cpuMsPerRequest.off.toFixed(2)} off`,
    );
    results.push(result);
  }
  return results;
}
