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
    while ((await store.lookup(operationId(warmUp))) !== warmUp) {
      await store.register(operationId(warmUp), warmUp);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterAll(async () => {
    await store.close();
    redis.disconnect();
  });

  it('stores a query under its own SHA-256, with an expiry', async () => {
    const query = `query Q${Date.now()} { hello }`;
    const hash = operationId(query);
    await store.register(hash, query);
    expect(await store.lookup(hash)).toBe(query);
    const ttl = await redis.ttl(apqKey(hash));
    expect(ttl).toBeGreaterThan(APQ_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(APQ_TTL_SECONDS);
  });

  it('never stores a query under a hash that is not its own', async () => {
    const victim = operationId(`query Victim${Date.now()} { hello }`);
    await store.register(victim, 'query Evil { everything }');
    expect(await redis.exists(apqKey(victim))).toBe(0);
    expect(await store.lookup(victim)).toBeUndefined();
  });

  it('never builds a key from something that is not a hash', async () => {
    await store.register('*', '*');
    expect(await store.lookup('*')).toBeUndefined();
    expect(await redis.exists(apqKey('*'))).toBe(0);
  });

  it('misses, quickly and without throwing, when Redis is down', async () => {
    const down = createApqStore({ redisUrl: 'redis://127.0.0.1:1', logger: silent });
    const started = Date.now();
    const query = 'query Down { hello }';
    await expect(down.register(operationId(query), query)).resolves.toBeUndefined();
    await expect(down.lookup(operationId(query))).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    await down.close();
  });
});
