/**
 * The meter on the test Redis: requests counted in memory and sent together, one script per tenant × credential ×
 * hour; the quota's read exact on the replica that counted them; losses counted per request.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../../common/logger';
import { createBudgetRedis } from '../budget/redis';
import type { RedisClient } from '../redis/connect';
import { freePort } from '../testing/redis-server';
import { hourOf, monthOf } from './buckets';
import { hourIndexKey, hourKey, monthBaseKey, monthKey, usageKeyPrefix } from './keys';
import { createMeter, type Meter } from './meter';

const AT = Date.UTC(2026, 11, 7, 14, 30);
const HOUR = hourOf(AT);
const MONTH = monthOf(AT);

let redis: RedisClient;
const prefix = usageKeyPrefix(`meter_test_${randomBytes(4).toString('hex')}`);
const lines: string[] = [];
const logger = createLogger({ sink: (line) => lines.push(line) });
const meters: Meter[] = [];

function meter(flushMs: number, client = redis): Meter {
  const created = createMeter({ redis: client, logger, keyPrefix: prefix, flushMs, now: () => AT });
  meters.push(created);
  return created;
}

beforeAll(async () => {
  redis = createBudgetRedis(process.env.TEST_REDIS_URL ?? '', { commandTimeoutMs: 2_000 });
  // No offline queue: a command sent before the connection is up fails at once.
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
});

afterAll(async () => {
  for (const m of meters) await m.flush();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** Waits (5 s at most) until the tenant's JWT hour hash counts `operations`: sent by the meter's own timer. */
async function untilOperations(tenantId: string, operations: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await redis.hget(hourKey(prefix, tenantId, HOUR, 'jwt'), 'o')) !== operations) {
    if (Date.now() > deadline) throw new Error(`${tenantId}'s count never reached ${operations}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the meter', () => {
  it('sends what it counted together: one hash per tenant × credential × hour, refusals by code', async () => {
    const m = meter(60_000);
    await redis.set(monthBaseKey(prefix, 'acme', MONTH), '1');
    m.record({ tenantId: 'acme', credential: 'jwt', costPoints: 5, responseBytes: 100 });
    m.record({ tenantId: 'acme', credential: 'jwt', costPoints: 7.4, responseBytes: 50, refusalCode: 'RATE_LIMITED' });
    m.record({ tenantId: 'acme', credential: 'jwt', costPoints: 0, responseBytes: 10, refusalCode: 'RATE_LIMITED' });
    m.record({ tenantId: 'acme', credential: 'jwt', costPoints: 0, responseBytes: 10, refusalCode: 'not ours' });
    m.record({ tenantId: 'acme', credential: 'KeyAbcdef001', costPoints: 3, responseBytes: 1 });
    // Nothing is sent before the flush…
    expect(await redis.exists(hourKey(prefix, 'acme', HOUR, 'jwt'))).toBe(0);
    await m.flush();
    // …and then each count once.
    expect(await redis.hgetall(hourKey(prefix, 'acme', HOUR, 'jwt'))).toEqual({
      o: '4',
      c: '12',
      b: '170',
      'r:RATE_LIMITED': '2',
      'r:OTHER': '1',
    });
    expect(await redis.hgetall(hourKey(prefix, 'acme', HOUR, 'KeyAbcdef001'))).toEqual({ o: '1', c: '3', b: '1' });
    expect((await redis.smembers(hourIndexKey(prefix, 'acme', HOUR))).sort()).toEqual(['KeyAbcdef001', 'jwt']);
    expect(await redis.get(monthKey(prefix, 'acme', MONTH))).toBe('15');
    expect(await redis.ttl(hourKey(prefix, 'acme', HOUR, 'jwt'))).toBeGreaterThan(0);
    await m.flush();
    expect(await redis.hget(hourKey(prefix, 'acme', HOUR, 'jwt'), 'o')).toBe('4');
  });

  it('sends by itself after flushMs', async () => {
    const m = meter(50);
    m.record({ tenantId: 'initech', credential: 'jwt', costPoints: 2, responseBytes: 8 });
    m.record({ tenantId: 'initech', credential: 'jwt', costPoints: 2, responseBytes: 8 });
    await untilOperations('initech', '2');
  });

  it('answers the quota with what it has not sent yet, and does not count it twice once sent', async () => {
    const m = meter(60_000);
    await redis.set(monthBaseKey(prefix, 'globex', MONTH), '1');
    await redis.set(monthKey(prefix, 'globex', MONTH), '100');
    m.record({ tenantId: 'globex', credential: 'jwt', costPoints: 10, responseBytes: 1 });
    m.record({ tenantId: 'globex', credential: 'KeyAbcdef002', costPoints: 5, responseBytes: 1 });
    // Another tenant's and another month's counts are not globex's this month.
    m.record({ tenantId: 'acme', credential: 'jwt', costPoints: 1_000, responseBytes: 1 });
    expect(await m.monthUsed('globex', MONTH)).toBe(115);
    // Sent between the read's going out and its answer: in neither twice.
    const [read] = await Promise.all([m.monthUsed('globex', MONTH), m.flush()]);
    expect(read).toBe(115);
    expect(await m.monthUsed('globex', MONTH)).toBe(115);
    expect(await m.monthUsed('globex', '2026-11')).toBeUndefined();
  });

  it('answers a rebuilt counter with what it has not sent yet, and adds it to the counter once sent', async () => {
    const m = meter(60_000);
    m.record({ tenantId: 'umbrella', credential: 'jwt', costPoints: 20, responseBytes: 1 });
    // No counter this month yet: the quota rebuilds it from the stored usage, which cannot hold the unsent 20.
    expect(await m.monthUsed('umbrella', MONTH)).toBeUndefined();
    expect(await m.rebuildMonth('umbrella', MONTH, 300)).toBe(320);
    expect(await redis.get(monthKey(prefix, 'umbrella', MONTH))).toBe('300');
    await m.flush();
    expect(await redis.get(monthKey(prefix, 'umbrella', MONTH))).toBe('320');
    expect(await m.monthUsed('umbrella', MONTH)).toBe(320);
    // Another replica's rebuild finds the counter set and answers it; the first replica has nothing unsent left.
    expect(await meter(60_000).rebuildMonth('umbrella', MONTH, 999)).toBe(320);
    expect(await m.rebuildMonth('umbrella', MONTH, 999)).toBe(320);
  });

  it('sends each request at once with flushMs 0', async () => {
    const m = meter(0);
    m.record({ tenantId: 'hooli', credential: 'jwt', costPoints: 1, responseBytes: 1 });
    await untilOperations('hooli', '1');
  });

  it('counts every request a script carried as lost when Redis does not answer, and never throws', async () => {
    const dead = createBudgetRedis(`redis://127.0.0.1:${await freePort()}`);
    dead.on('error', () => undefined);
    try {
      const m = meter(60_000, dead);
      m.record({ tenantId: 'acme', credential: 'jwt', costPoints: 1, responseBytes: 1 });
      m.record({ tenantId: 'acme', credential: 'jwt', costPoints: 1, responseBytes: 1 });
      m.record({ tenantId: 'acme', credential: 'KeyAbcdef001', costPoints: 1, responseBytes: 1 });
      await m.flush();
      expect(m.lost()).toBe(3);
      expect(await m.recordNow({ tenantId: 'acme', credential: 'jwt', costPoints: 1, responseBytes: 1 })).toBe(false);
      expect(m.lost()).toBe(4);
      expect(lines.filter((line) => line.includes('usage not counted'))).toHaveLength(1);
    } finally {
      dead.disconnect();
    }
  });
});
