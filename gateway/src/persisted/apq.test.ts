import Redis from 'ioredis';
import { createLogger } from '../../../common/logger';
import { APQ_TTL_SECONDS, apqKey, createApqStore, type ApqStore } from './apq';
import { operationId } from './manifest';

const redisUrl = process.env.TEST_REDIS_URL ?? '';
const silent = createLogger({ sink: () => undefined });

describe('the APQ store', () => {
  let store: ApqStore;
  let redis: Redis;

  beforeAll(async () => {
    // What is tested here is the store's contract, not its deadline: a loaded test machine may take over 100 ms.
    store = createApqStore({ redisUrl, logger: silent, commandTimeoutMs: 2_000 });
    redis = new Redis(redisUrl);
    // The store fails commands instead of queueing them until it is connected: wait until a registration sticks.
    const warmUp = 'query WarmUp { hello }';
    while ((await store.lookup('acme', operationId(warmUp))) !== warmUp) {
      await store.register('acme', operationId(warmUp), warmUp);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterAll(async () => {
    await store.close();
    redis.disconnect();
  });

  it('stores a query under its own SHA-256 in the tenant’s space, with an expiry', async () => {
    const query = `query Q${Date.now()} { hello }`;
    const hash = operationId(query);
    await store.register('acme', hash, query);
    expect(await store.lookup('acme', hash)).toBe(query);
    expect(apqKey('acme', hash)).toBe(`tollgate:apq:v2:{acme}:${hash}`);
    const ttl = await redis.ttl(apqKey('acme', hash));
    expect(ttl).toBeGreaterThan(APQ_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(APQ_TTL_SECONDS);
    // Another tenant neither finds it nor learns it was sent.
    expect(await store.lookup('globex', hash)).toBeUndefined();
    expect(await redis.exists(apqKey('globex', hash))).toBe(0);
  });

  it('never stores a query under a hash that is not its own', async () => {
    const victim = operationId(`query Victim${Date.now()} { hello }`);
    await store.register('acme', victim, 'query Evil { everything }');
    expect(await redis.exists(apqKey('acme', victim))).toBe(0);
    expect(await store.lookup('acme', victim)).toBeUndefined();
  });

  it('never builds a key from something that is not a hash or a tenant id', async () => {
    const query = 'query Star { hello }';
    await store.register('acme', '*', '*');
    await store.register('*', operationId(query), query);
    await store.register('acme}:{globex', operationId(query), query);
    expect(await store.lookup('acme', '*')).toBeUndefined();
    expect(await store.lookup('*', operationId(query))).toBeUndefined();
    expect(() => apqKey('acme', '*')).toThrow('invalid');
    expect(() => apqKey('a}*', operationId(query))).toThrow('invalid');
    expect(await redis.keys('tollgate:apq:v2:{\\**')).toEqual([]);
  });

  it('misses, quickly and without throwing, when Redis is down', async () => {
    const down = createApqStore({ redisUrl: 'redis://127.0.0.1:1', logger: silent });
    const started = Date.now();
    const query = 'query Down { hello }';
    await expect(down.register('acme', operationId(query), query)).resolves.toBeUndefined();
    await expect(down.lookup('acme', operationId(query))).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    await down.close();
  });
});
