/**
 * Budgets against the real Redis the test setup provides (TEST_REDIS_URL). Each test run uses its own key prefix
 * and deletes its keys afterwards, so it never touches anything else in that Redis.
 */
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { createLogger } from '../../../common/logger';
import { createBudget, type Budget } from './budget';
import { budgetKey, InvalidBudgetSubjectError, type BudgetSubject } from './keys';
import { createBudgetRedis } from './redis';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tollgate-test:budget:${randomBytes(6).toString('hex')}`;
const logger = createLogger({ sink: () => {} });

/** Two gateway replicas: separate connections, one shared store. */
let replicaA: Redis;
let replicaB: Redis;
let budgetA: Budget;
let budgetB: Budget;

beforeAll(async () => {
  replicaA = createBudgetRedis(REDIS_URL);
  replicaB = createBudgetRedis(REDIS_URL);
  // The clients connect asynchronously and have no offline queue: a command sent before they are ready fails.
  await Promise.all([replicaA, replicaB].map((client) => (client.status === 'ready' ? undefined : new Promise((r) => client.once('ready', r)))));
  budgetA = createBudget({ redis: replicaA, failMode: 'closed', logger, keyPrefix: PREFIX });
  budgetB = createBudget({ redis: replicaB, failMode: 'closed', logger, keyPrefix: PREFIX });
});

afterAll(async () => {
  budgetA.close();
  budgetB.close();
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
    // Actual 20 of the reserved 60: 40 come back (on the other replica, which is the same bucket).
    expect(await budgetB.settle(first.reservation, 20)).toMatchObject({ currentlyAvailable: 80 });

    const second = await budgetA.reserve(who, policy, 10);
    if (!second.granted) throw new Error('expected a reservation');
    // Actual 150 for a reservation of 10: 140 more, from 70 → -70.
    expect(await budgetA.settle(second.reservation, 150)).toMatchObject({ currentlyAvailable: -70 });
    const refused = await budgetA.reserve(who, policy, 0);
    expect(refused.granted).toBe(false);
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
    expect(await budgetA.reserve(who, policy, 150, { force: true })).toMatchObject({ granted: true, status: { currentlyAvailable: -50 } });
    expect(await budgetA.reserve(who, policy, 1_000, { force: true })).toMatchObject({ granted: true, status: { currentlyAvailable: -100 } });
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
    // Settled at zero, the bucket is full again and its key is gone.
    await budgetA.settle(reserved.reservation, 0);
    expect(await replicaA.exists(key)).toBe(0);
  });

  it('refuses invalid policies and amounts', async () => {
    await expect(budgetA.reserve(subject(), { capacity: 0, restoreRate: 1 }, 1)).rejects.toThrow(RangeError);
    await expect(budgetA.reserve(subject(), { capacity: 10, restoreRate: 1 }, Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
  });
});

describe('budget keys', () => {
  it('are built from the validated tenant, the credential kind and a hash of the principal', () => {
    const key = budgetKey({ tenantId: 'acme', credential: 'jwt', principal: 'a:b*{c}' });
    expect(key).toMatch(/^tollgate:budget:v1:acme:jwt:[0-9a-f]{32}$/);
    // An API key's principal is `key:<keyId>`; the same subject through another credential is another bucket.
    const apiKey = budgetKey({ tenantId: 'acme', credential: 'apiKey', principal: 'key:k_123' });
    expect(apiKey).toMatch(/^tollgate:budget:v1:acme:apiKey:[0-9a-f]{32}$/);
  });

  it('refuse anything that could change which key is touched', () => {
    for (const tenantId of ['Acme', 'a:b', 'acme*', '{acme}', '']) {
      expect(() => budgetKey({ tenantId, credential: 'jwt', principal: 'u' })).toThrow(InvalidBudgetSubjectError);
    }
    expect(() => budgetKey({ tenantId: 'acme', credential: 'j:wt', principal: 'u' })).toThrow(InvalidBudgetSubjectError);
    expect(() => budgetKey({ tenantId: 'acme', credential: 'jwt', principal: '' })).toThrow(InvalidBudgetSubjectError);
    expect(() => budgetKey({ tenantId: 'acme', credential: 'jwt', principal: 'u' }, 'bad prefix*')).toThrow(InvalidBudgetSubjectError);
  });
});
