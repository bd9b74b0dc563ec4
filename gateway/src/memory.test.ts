/**
 * A stream of distinct documents leaves the gateway's per-document caches within their configured byte bounds, and
 * Apollo's document store keeps only documents of operations that were admitted.
 */
import { startTestPlatform, type TestPlatform } from './testing/platform';

const KIB = 1024;
const BOUNDS = { documents: 64 * KIB, queryPlans: 64 * KIB, authorization: 64 * KIB, cost: 48 * KIB };
const DOCUMENTS = 1_600;

describe('per-document caches under a stream of distinct documents', () => {
  let platform: TestPlatform;
  const cache = (name: string) => {
    const found = platform.gateway.caches().find((stats) => stats.name === name);
    if (!found) throw new Error(`no cache named ${name}`);
    return found;
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ cacheBytes: BOUNDS, logLevel: 'warn' });
  }, 60_000);
  afterAll(() => platform.stop());

  it('stores the document of an admitted operation, and not that of a refused one', async () => {
    const before = cache('documents').entries;
    const refused = Array.from({ length: 31 }, (_, i) => `r${i}: whoami { tenant }`).join(' ');
    const res = await platform.graphql({ query: `query Refused { ${refused} }` });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions?.validationErrorCode).toBe('MAX_ALIASES_LIMIT');
    expect(cache('documents').entries).toBe(before);

    const admitted = await platform.graphql({ query: 'query Admitted { whoami { tenant } }' });
    expect(admitted.status).toBe(200);
    expect(cache('documents').entries).toBe(before + 1);
  });

  it('stays within every configured bound after thousands of distinct documents', async () => {
    const statuses = new Map<number, number>();
    const send = async (i: number) => {
      const kind = i % 4;
      const query =
        kind === 0
          ? `query V${i} { p${i}: products { id name } w${i}: whoami { tenant } }`
          : kind === 1
            ? `query V${i} { w${i}: whoami { tenant principal } }`
            : kind === 2
              ? `query I${i} { p${i}: products { id missing${i} } }`
              : `query R${i} { ${Array.from({ length: 31 }, (_, k) => `a${i}_${k}: whoami { tenant }`).join(' ')} }`;
      const res = await platform.graphql({ query });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    };
    for (let i = 0; i < DOCUMENTS; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => send(i + k)));

    // Each kind was answered as intended: admitted, refused by validation, refused by a limit.
    expect(statuses.get(200)).toBe(DOCUMENTS / 2);
    expect(statuses.get(400)).toBe(DOCUMENTS / 2);
    for (const [name, bound] of [
      ['documents', BOUNDS.documents],
      ['query-plans', BOUNDS.queryPlans],
      ['authorization', BOUNDS.authorization],
      ['cost', BOUNDS.cost],
    ] as const) {
      const stats = cache(name);
      expect(stats.maxBytes).toBe(bound);
      expect(stats.bytes).toBeLessThanOrEqual(bound);
      // Full, not empty: the stream filled it, and the bound is what stopped it.
      expect(stats.bytes).toBeGreaterThan(bound / 2);
      expect(stats.entries).toBeLessThan(DOCUMENTS / 2);
    }
    // The gateway still answers a known operation.
    const res = await platform.graphql({ query: 'query Admitted { whoami { tenant } }' });
    expect(res.status).toBe(200);
  }, 240_000);
});
