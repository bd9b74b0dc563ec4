/**
 * Usage metering and the quota when Redis stops answering: the gateway keeps serving, and what it could not count or
 * check shows in the metrics (QUOTA_FAIL_MODE=open); with QUOTA_FAIL_MODE=closed a tenant with a quota gets 503.
 * This test runs its own redis-server on a free port and kills it.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort, startRedis, stopRedis } from '../testing/redis-server';
import { startTestPlatform, type TestPlatform } from '../testing/platform';

async function metric(platform: TestPlatform, name: string): Promise<number> {
  const text = await (await fetch(platform.gateway.metricsUrl!)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

/** Waits for a counter to reach `at least` (the loss is counted when Redis's refusal arrives, after the response). */
async function eventually(read: () => Promise<number>, atLeast: number): Promise<number> {
  let value = await read();
  for (let i = 0; i < 100 && !(value >= atLeast); i++) {
    await new Promise((r) => setTimeout(r, 20));
    value = await read();
  }
  return value;
}

const query = { query: '{ products { id name } }' };

describe('usage metering without Redis', () => {
  let redis: ChildProcess;
  const platforms: TestPlatform[] = [];
  afterAll(async () => {
    for (const p of platforms) await p.stop();
    if (redis) await stopRedis(redis);
  });

  it('keeps serving and counts what it lost (QUOTA_FAIL_MODE=open); refuses with 503 when the quota fails closed', async () => {
    const port = await freePort();
    redis = await startRedis(port);
    const redisUrl = `redis://127.0.0.1:${port}`;
    const metrics = { host: '127.0.0.1', port: 0, maxTenants: 10 };
    const open = await startTestPlatform({
      redisUrl,
      metrics,
      // Each request sent as it ends (USAGE_FLUSH_MS=0): the losses are counted request by request, and none of the
      // first request's count is still waiting when Redis goes (meter.test.ts covers counts sent together).
      metering: { enabled: true, rollupIntervalMs: 0, quotaFailMode: 'open', flushMs: 0 },
    });
    platforms.push(open);
    const closed = await startTestPlatform({
      redisUrl,
      metrics,
      metering: { enabled: true, rollupIntervalMs: 0, quotaFailMode: 'closed', flushMs: 0 },
    });
    platforms.push(closed);
    // globex's plan (free) has a monthly quota: its operations are checked.
    const globex = await open.issuer.sign({ tenant: 'globex' });
    const globexOfClosed = await closed.issuer.sign({ tenant: 'globex' });
    expect((await open.graphql(query, { token: globex })).status).toBe(200);
    expect((await closed.graphql(query, { token: globexOfClosed })).status).toBe(200);
    expect(await metric(open, 'tollgate_usage_records_lost_total')).toBe(0);

    await stopRedis(redis);
    const served = await open.graphql(query, { token: globex });
    expect(served.status).toBe(200);
    expect(served.body.errors).toBeUndefined();
    expect(await eventually(() => metric(open, 'tollgate_usage_records_lost_total'), 1)).toBe(1);
    expect(await metric(open, 'tollgate_quota_checks_skipped_total')).toBe(1);

    const refused = await closed.graphql(query, { token: globexOfClosed });
    expect(refused.status).toBe(503);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.text).not.toMatch(/redis|ECONNREFUSED|stream/i);
  }, 60_000);
});
