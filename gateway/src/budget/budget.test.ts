/**
 * Budgets against the real Redis the test setup provides (TEST_REDIS_URL). Each test run uses its own key prefix
 * and deletes its keys afterwards, so it never touches anything else in that Redis.
 */
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { createLogger } from '../../../common/logger';
import { applyStep } from './bucket';
import { createBudget, type Budget } from './budget';
import { budgetKey, InvalidBudgetSubjectError, type BudgetSubject } from './keys';
import { createBudgetRedis, redisBucketStep } from './redis';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tollgate-test:budget:${randomBytes(6).toString('hex')}`;
const logger = createLogger({ sink: () => {} });

/** Two gateway replicas: separate connections, one shared store. */
let replicaA: Redis;
let replicaB: Redis;
let budgetA: Budget;
let budgetB: Budget;

beforeAll(async () => {
  replicaA = createBudgetRedis(REDIS_URL) as Redis; // a redis:// URL: one node
  replicaB = createBudgetRedis(REDIS_URL) as Redis; // a redis:// URL: one node
  // The clients connect asynchronously and have no offline queue: a command sent before they are ready fails.
  await Promise.all(
    [replicaA, replicaB].map((client) =>
      client.status === 'ready' ? undefined : new Promise((r) => client.once('ready', r)),
    ),
  );
  budgetA = createBudget({ redis: replicaA, failMode: 'closed', logger, keyPrefix: PREFIX });
  budgetB = createBudget({ redis: replicaB, failMode: 'closed', logger, keyPrefix: PREFIX });
});

afterAll(async () => {
  await Promise.all([budgetA.close(), budgetB.close()]);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await replicaA.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length > 0) await replicaA.del(...keys);
  await Promise.all([replicaA.quit(), replicaB.quit()]);
});

let subjects = 0;
/** A fresh principal per test, so tests never share a bucket. */
function subject(tenantId = 'acme'): BudgetSubject {
  subjects += 1;
  return { tenantId, credential: 'jwt', principal: `user-${subjects}` };
}

describe('budget shared by two replicas through Redis', () => {
  it('grants at most what fits when many reservations race from both replicas', async () => {
    const who = subject();
    const policy = { capacity: 100, restoreRate: 0.001 };
    // 40 reservations of 10 against 100 points: exactly 10 fit (the bucket barely refills during the test).
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? budgetA : budgetB).reserve(who, policy, 10)),
    );
    const granted = results.filter((r) => r.granted);
    expect(granted.length).toBeLessThanOrEqual(10);
    expect(granted.length).toBe(10);
    expect(granted.every((r) => r.granted && r.reservation.backend === 'redis')).toBe(true);

    // Another principal of the tenant, and another tenant, are untouched.
    expect((await budgetA.reserve(subject(), policy, 100)).granted).toBe(true);
    expect((await budgetB.reserve(subject('globex'), policy, 100)).granted).toBe(true);
  });

  it('refunds the difference on settle, and charges an excess as debt', async () => {
    const who = subject();
    const policy = { capacity: 100, restoreRate: 0.001 };
    const first = await budgetA.reserve(who, policy, 60);
    if (!first.granted) throw new Error('expected a reservation');
    expect(first.status.currentlyAvailable).toBe(40);
    // Actual 20 of the reserved 60: 40 come back (on the other replica, which is the same bucket). The refund waits
    // in replica B for B's next reservation of the bucket, or B's flush.
    expect(await budgetB.settle(first.reservation, 20)).toMatchObject({ currentlyAvailable: 80 });
    await budgetB.flush();

    const second = await budgetA.reserve(who, policy, 10);
    if (!second.granted) throw new Error('expected a reservation');
    expect(second.status.currentlyAvailable).toBe(70);
    // Actual 150 for a reservation of 10: 140 more, from 70 → -70.
    expect(await budgetA.settle(second.reservation, 150)).toMatchObject({ currentlyAvailable: -70 });
    // The excess rides with the next reservation, which it then refuses.
    const refused = await budgetA.reserve(who, policy, 0);
    expect(refused).toMatchObject({ granted: false, status: { currentlyAvailable: -70 } });
  });

  it('says when to retry, and that waiting will not help when the amount exceeds the capacity', async () => {
    const who = subject();
    const policy = { capacity: 100, restoreRate: 10 };
    await budgetA.reserve(who, policy, 80);
    const refused = await budgetB.reserve(who, policy, 50);
    // 20 left (plus a few ms of refill), 30 missing at 10/s → 3 s
    expect(refused).toMatchObject({ granted: false, retryAfterSeconds: 3, backend: 'redis' });
    expect(await budgetB.reserve(who, policy, 101)).toMatchObject({ granted: false, retryAfterSeconds: undefined });
  });

  it('takes a forced reservation (measure mode) even into debt, never below -capacity', async () => {
    const who = subject();
    const policy = { capacity: 100, restoreRate: 0.001 };
    expect(await budgetA.reserve(who, policy, 150, { force: true })).toMatchObject({
      granted: true,
      status: { currentlyAvailable: -50 },
    });
    expect(await budgetA.reserve(who, policy, 1_000, { force: true })).toMatchObject({
      granted: true,
      status: { currentlyAvailable: -100 },
    });
  });

  it('always sets an expiry: when the bucket would be full again', async () => {
    const who = subject();
    const policy = { capacity: 100, restoreRate: 10 };
    const key = budgetKey(who, PREFIX);
    const reserved = await budgetA.reserve(who, policy, 50);
    if (!reserved.granted) throw new Error('expected a reservation');
    // 50 missing at 10/s = 5 s, plus 1 s of margin
    const ttl = await replicaA.pttl(key);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(6_000);
    // Settled at zero, the bucket is full again and its key is gone (once the refund reached Redis).
    await budgetA.settle(reserved.reservation, 0);
    await budgetA.flush();
    expect(await replicaA.exists(key)).toBe(0);
  });

  it('refuses invalid policies and amounts', async () => {
    await expect(budgetA.reserve(subject(), { capacity: 0, restoreRate: 1 }, 1)).rejects.toThrow(RangeError);
    await expect(
      budgetA.reserve(subject(), { capacity: 10, restoreRate: 1 }, Number.POSITIVE_INFINITY),
    ).rejects.toThrow(RangeError);
  });
});

/** Counts the budget script's calls per key, on the client side (what goes over the wire to Redis). */
function countScriptCalls(client: Redis): { calls(key: string): number; restore(): void } {
  const counts = new Map<string, number>();
  const original = client.sendCommand.bind(client);
  const spy = jest.spyOn(client, 'sendCommand').mockImplementation((command, stream) => {
    if (command.name === 'evalsha' || command.name === 'eval') {
      // EVALSHA sha numkeys key …
      const key = String(command.args[2]);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return original(command, stream);
  });
  return { calls: (key) => counts.get(key) ?? 0, restore: () => spy.mockRestore() };
}

async function storedLevel(client: Redis, key: string): Promise<number | undefined> {
  const level = await client.hget(key, 'a');
  return level === null ? undefined : Number(level);
}

describe('settlements ride with the next reservation', () => {
  /** A budget whose timer never flushes during a test: only reservations, flush() and close() apply settlements. */
  let client: Redis;
  let lazy: Budget;

  beforeAll(async () => {
    client = createBudgetRedis(REDIS_URL) as Redis; // a redis:// URL: one node
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    lazy = createBudget({ redis: client, failMode: 'closed', logger, keyPrefix: PREFIX, settleFlushMs: 600_000 });
  });

  afterAll(async () => {
    await lazy.close();
    await client.quit();
  });

  it('takes one script call per operation, and the bucket ends where the arithmetic says', async () => {
    const who = subject();
    const key = budgetKey(who, PREFIX);
    const policy = { capacity: 1_000, restoreRate: 0.001 };
    const counter = countScriptCalls(client);
    const N = 20;
    let expected = policy.capacity;
    try {
      for (let i = 0; i < N; i += 1) {
        const reserved = await lazy.reserve(who, policy, 30);
        if (!reserved.granted) throw new Error('expected a reservation');
        // Refunds (10 of 30) and excess charges (45 of 30), alternating unevenly.
        const actual = i % 3 === 0 ? 45 : 10;
        expected -= actual;
        const status = await lazy.settle(reserved.reservation, actual);
        // The local status: what this operation left, nobody else spending (the bucket barely refills).
        expect(status?.currentlyAvailable).toBe(Math.floor(expected + 0.5));
      }
      // N reservations; every settlement but the last rode with one of them.
      expect(counter.calls(key)).toBe(N);
      await lazy.flush();
      expect(counter.calls(key)).toBe(N + 1);
      // Nothing left to flush.
      await lazy.flush();
      expect(counter.calls(key)).toBe(N + 1);
    } finally {
      counter.restore();
    }
    // 7 × 45 + 13 × 10 = 445 charged; a few ms of refill at 0.001/s is far below 0.01.
    expect(expected).toBe(555);
    expect(await storedLevel(client, key)).toBeCloseTo(555, 1);
    expect(lazy.stats().lostSettlements).toBe(0);
  });

  it('applies a pending settlement even when the reservation carrying it is refused', async () => {
    const policy = { capacity: 100, restoreRate: 0.001 };
    const counter = countScriptCalls(client);
    try {
      // A refund: 90 reserved, 20 used → 70 back, pending.
      const refundee = subject();
      const refundKey = budgetKey(refundee, PREFIX);
      const big = await lazy.reserve(refundee, policy, 90);
      if (!big.granted) throw new Error('expected a reservation');
      expect(await lazy.settle(big.reservation, 20)).toMatchObject({ currentlyAvailable: 80 });
      // 85 does not fit in 80: refused, and the refusal already counts the refund (10 + 70).
      expect(await lazy.reserve(refundee, policy, 85)).toMatchObject({
        granted: false,
        status: { currentlyAvailable: 80 },
      });
      expect(await storedLevel(client, refundKey)).toBeCloseTo(80, 1);
      expect(counter.calls(refundKey)).toBe(2);
      // The refused call carried it: nothing left to flush, and 80 fit now.
      await lazy.flush();
      expect(counter.calls(refundKey)).toBe(2);
      expect(await lazy.reserve(refundee, policy, 80)).toMatchObject({ granted: true });

      // An excess charge: 50 reserved, 120 used → 70 more, pending; the refused reservation lands it as debt.
      const spender = subject();
      const spenderKey = budgetKey(spender, PREFIX);
      const small = await lazy.reserve(spender, policy, 50);
      if (!small.granted) throw new Error('expected a reservation');
      expect(await lazy.settle(small.reservation, 120)).toMatchObject({ currentlyAvailable: -20 });
      expect(await lazy.reserve(spender, policy, 10)).toMatchObject({
        granted: false,
        status: { currentlyAvailable: -20 },
      });
      expect(await storedLevel(client, spenderKey)).toBeCloseTo(-20, 1);
    } finally {
      counter.restore();
    }
  });

  it('flushes a pending settlement by itself shortly, without further traffic', async () => {
    const who = subject();
    const key = budgetKey(who, PREFIX);
    const policy = { capacity: 100, restoreRate: 0.001 };
    // budgetA flushes after its default delay.
    const reserved = await budgetA.reserve(who, policy, 60);
    if (!reserved.granted) throw new Error('expected a reservation');
    await budgetA.settle(reserved.reservation, 25);
    // No reservation of this bucket follows: only the timer can apply the refund.
    const deadline = Date.now() + 2_000;
    while (((await storedLevel(client, key)) ?? 0) < 74 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    // 100 − 25
    expect(await storedLevel(client, key)).toBeCloseTo(75, 1);
  });

  it('flushes on close, and counts a settlement after close as lost', async () => {
    const closing = createBudget({
      redis: client,
      failMode: 'closed',
      logger,
      keyPrefix: PREFIX,
      settleFlushMs: 600_000,
    });
    const who = subject();
    const key = budgetKey(who, PREFIX);
    const policy = { capacity: 100, restoreRate: 0.001 };
    const first = await closing.reserve(who, policy, 60);
    const second = await closing.reserve(who, policy, 30);
    if (!first.granted || !second.granted) throw new Error('expected reservations');
    await closing.settle(first.reservation, 10);
    expect(await storedLevel(client, key)).toBeCloseTo(10, 1);
    await closing.close();
    // 100 − 10 − 30
    expect(await storedLevel(client, key)).toBeCloseTo(60, 1);
    expect(await closing.settle(second.reservation, 0)).toBeUndefined();
    expect(closing.stats().lostSettlements).toBe(1);
    expect(await storedLevel(client, key)).toBeCloseTo(60, 1);
  });

  it('runs the same arithmetic in Lua as the reference in bucket.ts', async () => {
    const step = redisBucketStep(client);
    // A rate this small refills nothing measurable between HSET and the script.
    const policy = { capacity: 100, restoreRate: 0.000001 };
    const cases: { stored: number | undefined; amount: number; conditional: boolean; pending: number }[] = [
      { stored: undefined, amount: 30, conditional: true, pending: 0 },
      { stored: 20, amount: 40, conditional: true, pending: -30 },
      { stored: 20, amount: 20, conditional: true, pending: 10 },
      { stored: 90, amount: 30, conditional: true, pending: -50 },
      { stored: -90, amount: 5, conditional: false, pending: 50 },
      { stored: 20, amount: 30, conditional: true, pending: 0 },
      { stored: 10, amount: -500, conditional: false, pending: 300 },
      { stored: undefined, amount: 0, conditional: false, pending: -20 },
    ];
    for (const c of cases) {
      const key = budgetKey(subject(), PREFIX);
      if (c.stored !== undefined) {
        const [seconds, micros] = await client.time();
        await client.hset(key, 'a', String(c.stored), 't', `${seconds}.${String(micros).padStart(6, '0')}`);
      }
      const reference = applyStep(
        c.stored === undefined ? undefined : { available: c.stored, elapsedSeconds: 0 },
        policy,
        c.amount,
        c.conditional,
        c.pending,
      );
      const lua = await step(key, policy, c.amount, c.conditional, c.pending);
      expect({ case: c, applied: lua.applied }).toEqual({ case: c, applied: reference.applied });
      expect(lua.available).toBeCloseTo(reference.available, 3);
      // Written when anything was applied (a full bucket is deleted); left alone otherwise.
      const written = reference.applied || c.pending !== 0;
      const expectedStored = written
        ? reference.available >= policy.capacity
          ? undefined
          : reference.available
        : c.stored;
      const stored = await storedLevel(client, key);
      if (expectedStored === undefined) expect(stored).toBeUndefined();
      else expect(stored).toBeCloseTo(expectedStored, 3);
    }
  });
});

describe('budget keys', () => {
  it('are built from the validated tenant, the credential kind and a hash of the principal', () => {
    const key = budgetKey({ tenantId: 'acme', credential: 'jwt', principal: 'a:b*{c}' });
    // `{acme}`: the tenant is the Redis Cluster hash tag, so all of a tenant's buckets share one slot.
    expect(key).toMatch(/^tollgate:budget:v1:\{acme\}:jwt:[0-9a-f]{32}$/);
    // An API key's principal is `key:<keyId>`; the same subject through another credential is another bucket.
    const apiKey = budgetKey({ tenantId: 'acme', credential: 'apiKey', principal: 'key:k_123' });
    expect(apiKey).toMatch(/^tollgate:budget:v1:\{acme\}:apiKey:[0-9a-f]{32}$/);
  });

  it('refuse anything that could change which key is touched', () => {
    for (const tenantId of ['Acme', 'a:b', 'acme*', '{acme}', '']) {
      expect(() => budgetKey({ tenantId, credential: 'jwt', principal: 'u' })).toThrow(InvalidBudgetSubjectError);
    }
    expect(() => budgetKey({ tenantId: 'acme', credential: 'j:wt', principal: 'u' })).toThrow(
      InvalidBudgetSubjectError,
    );
    expect(() => budgetKey({ tenantId: 'acme', credential: 'jwt', principal: '' })).toThrow(InvalidBudgetSubjectError);
    expect(() => budgetKey({ tenantId: 'acme', credential: 'jwt', principal: 'u' }, 'bad prefix*')).toThrow(
      InvalidBudgetSubjectError,
    );
  });
});
