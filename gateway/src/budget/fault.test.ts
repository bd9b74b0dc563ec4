/**
 * What the budget does when Redis stops answering, and when it comes back. This test runs its own redis-server on a
 * free port (never the shared one), freezes it with SIGSTOP, kills it, and restarts it on the same port.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort, startRedis, stopRedis } from '../testing/redis-server';
import type { RedisClient as Redis } from '../redis/connect';
import { createLogger } from '../../../common/logger';
import { BudgetUnavailableError, createBudget, type Budget } from './budget';
import { createBudgetRedis } from './redis';

function whenReady(client: Redis): Promise<unknown> {
  return client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', resolve));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

const policy = { capacity: 30, restoreRate: 0.001 };
const who = { tenantId: 'acme', credential: 'jwt', principal: 'fault-test' };

let port: number;
let server: ChildProcess;
let openClient: Redis;
let closedClient: Redis;
let open: Budget;
let closed: Budget;
const lines: { level: string; msg: string }[] = [];

beforeAll(async () => {
  port = await freePort();
  server = await startRedis(port);
  openClient = createBudgetRedis(`redis://127.0.0.1:${port}`);
  closedClient = createBudgetRedis(`redis://127.0.0.1:${port}`);
  await Promise.all([whenReady(openClient), whenReady(closedClient)]);
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line)) });
  open = createBudget({
    redis: openClient,
    failMode: 'open',
    logger: logger.child({ budget: 'open' }),
    probeIntervalMs: 100,
  });
  closed = createBudget({
    redis: closedClient,
    failMode: 'closed',
    logger: logger.child({ budget: 'closed' }),
    probeIntervalMs: 100,
  });
});

afterAll(async () => {
  await Promise.all([open.close(), closed.close()]);
  openClient.disconnect();
  closedClient.disconnect();
  await stopRedis(server);
});

it('falls back within the command timeout, decides without Redis, and goes back to Redis by itself', async () => {
  const first = await open.reserve(who, policy, 10);
  expect(first).toMatchObject({ granted: true, reservation: { backend: 'redis' } });
  expect(await closed.reserve(who, policy, 0)).toMatchObject({ granted: true });

  // Redis stops answering (the process is frozen; its connections stay open).
  server.kill('SIGSTOP');

  const fallback = await timed(() => open.reserve(who, policy, 10));
  expect(fallback.ms).toBeLessThan(1_000);
  expect(fallback.value).toMatchObject({ granted: true, reservation: { backend: 'memory' } });
  const refusal = await timed(() =>
    closed.reserve(who, policy, 10).then(
      () => 'granted',
      (error: unknown) => error,
    ),
  );
  expect(refusal.ms).toBeLessThan(1_000);
  expect(refusal.value).toBeInstanceOf(BudgetUnavailableError);

  // From now on Redis is not asked at all: the per-process bucket enforces (30 points: two more of 10 fit).
  const during = await Promise.all(Array.from({ length: 3 }, () => open.reserve(who, policy, 10)));
  expect(during.map((r) => r.granted)).toEqual([true, true, false]);
  expect(during.every((r) => (r.granted ? r.reservation.backend : r.backend) === 'memory')).toBe(true);
  // A settlement of a Redis reservation cannot be applied now; its estimate stays charged.
  if (!first.granted) throw new Error('expected a reservation');
  expect(await open.settle(first.reservation, 0)).toBeUndefined();
  expect(open.stats()).toMatchObject({ backend: 'memory', outages: 1, lostSettlements: 1 });
  // One line per budget for the whole outage, however many calls failed: a warning where it fails open, an error
  // where it fails closed (it refuses every operation).
  expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);

  // Redis dies and comes back on the same port, empty.
  await stopRedis(server);
  server = await startRedis(port);

  const deadline = Date.now() + 10_000;
  let backend = 'memory';
  while (backend !== 'redis' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const result = await open.reserve(who, policy, 10);
    backend = result.granted ? result.reservation.backend : result.backend;
  }
  expect(backend).toBe('redis');
  // Enforcement is shared again: the restarted Redis holds the bucket (10 taken above), two more fit, then not.
  const after = [
    await open.reserve(who, policy, 10),
    await open.reserve(who, policy, 10),
    await open.reserve(who, policy, 10),
  ];
  expect(after.map((r) => r.granted)).toEqual([true, true, false]);
  expect(after[2]).toMatchObject({ granted: false, backend: 'redis' });

  while (closed.stats().backend !== 'redis' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // The fail-closed budget answers again, from the same shared bucket the other one just emptied.
  expect(await closed.reserve(who, policy, 10)).toMatchObject({ granted: false, backend: 'redis' });
  expect(open.stats()).toMatchObject({ outages: 1, recoveries: 1 });
  expect(lines.filter((l) => l.level === 'info')).toHaveLength(2);
});

it('loses (and counts) pending settlements when the call carrying them fails', async () => {
  const client = createBudgetRedis(`redis://127.0.0.1:${port}`);
  await whenReady(client);
  // No timer flush during the test: only the calls below carry the settlements.
  const budget = createBudget({
    redis: client,
    failMode: 'open',
    logger: createLogger({ sink: () => {} }),
    probeIntervalMs: 100,
    settleFlushMs: 600_000,
  });
  const flushed = { ...who, principal: 'fault-flush' };
  const carried = { ...who, principal: 'fault-carried' };
  try {
    const a = await budget.reserve(flushed, policy, 10);
    const b = await budget.reserve(flushed, policy, 10);
    const c = await budget.reserve(carried, policy, 10);
    if (!a.granted || !b.granted || !c.granted) throw new Error('expected reservations');
    expect([a, b, c].every((r) => r.granted && r.reservation.backend === 'redis')).toBe(true);
    // Two refunds pending on one bucket, one on another. Settling answers at once from the reservation's reply: `a`
    // left 20 and gives 10 back (that `b` spent since is not counted).
    expect(await budget.settle(a.reservation, 0)).toMatchObject({ currentlyAvailable: 30 });
    await budget.settle(b.reservation, 0);
    await budget.settle(c.reservation, 5);
    expect(budget.stats().lostSettlements).toBe(0);

    server.kill('SIGSTOP');
    try {
      // The reservation carrying `carried`'s refund times out: decided from the per-process bucket, refund lost.
      const during = await budget.reserve(carried, policy, 1);
      expect(during).toMatchObject({ granted: true, reservation: { backend: 'memory' } });
      expect(budget.stats()).toMatchObject({ backend: 'memory', lostSettlements: 1 });
      // A flush while Redis is unavailable drops the rest, and counts each settlement it carried.
      await budget.flush();
      expect(budget.stats().lostSettlements).toBe(3);
    } finally {
      server.kill('SIGCONT');
    }
  } finally {
    await budget.close();
    client.disconnect();
  }
});

it('counts the settlements of a flush that fails', async () => {
  const client = createBudgetRedis(`redis://127.0.0.1:${port}`);
  await whenReady(client);
  const budget = createBudget({
    redis: client,
    failMode: 'open',
    logger: createLogger({ sink: () => {} }),
    probeIntervalMs: 100,
    settleFlushMs: 600_000,
  });
  try {
    const reserved = await budget.reserve({ ...who, principal: 'fault-failed-flush' }, policy, 10);
    if (!reserved.granted) throw new Error('expected a reservation');
    await budget.settle(reserved.reservation, 2);
    server.kill('SIGSTOP');
    try {
      // Redis is still believed up: the flush is sent, times out, and the budget falls back.
      const flush = await timed(() => budget.flush());
      expect(flush.ms).toBeLessThan(1_000);
      expect(budget.stats()).toMatchObject({ backend: 'memory', lostSettlements: 1, redisFailures: 1 });
    } finally {
      server.kill('SIGCONT');
    }
  } finally {
    await budget.close();
    client.disconnect();
  }
});
