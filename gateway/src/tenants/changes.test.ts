import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { createLogger } from '../../../common/logger';
import {
  changesChannel,
  createChangePublisher,
  parseChange,
  subscribeToChanges,
  type ControlPlaneChange,
} from './changes';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const quiet = createLogger({ sink: () => undefined });

function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error('timed out'));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

describe('parseChange', () => {
  it.each([
    ['{"kind":"tenant","id":"acme"}', { kind: 'tenant', id: 'acme' }],
    ['{"kind":"plan","id":"pro"}', { kind: 'plan', id: 'pro' }],
    ['{"kind":"apiKey","id":"Kx7Qp2Lm9Zr4"}', { kind: 'apiKey', id: 'Kx7Qp2Lm9Zr4' }],
  ])('reads %s', (message, change) => {
    expect(parseChange(message)).toEqual(change);
  });

  it.each([
    ['not json'],
    ['null'],
    ['{"kind":"user","id":"x"}'],
    ['{"kind":"tenant","id":"a:b*"}'],
    ['{"kind":"tenant"}'],
    ['{"kind":"tenant","id":{"$ne":1}}'],
  ])('ignores %s', (message) => {
    expect(parseChange(message)).toBeUndefined();
  });
});

describe('announcements over Redis', () => {
  const dbName = `tollgate_control_test_${randomBytes(6).toString('hex')}`;

  it('reach a subscriber of the same control plane, and only of it', async () => {
    const received: ControlPlaneChange[] = [];
    const other: ControlPlaneChange[] = [];
    let resyncs = 0;
    const subscription = subscribeToChanges({
      redisUrl,
      dbName,
      logger: quiet,
      onChange: (c) => received.push(c),
      onResync: () => resyncs++,
    });
    const bystander = subscribeToChanges({
      redisUrl,
      dbName: `${dbName}_other`,
      logger: quiet,
      onChange: (c) => other.push(c),
      onResync: () => undefined,
    });
    const raw = new Redis(redisUrl);
    const publisher = createChangePublisher({
      redisUrl,
      dbName,
      onError: (error) => {
        throw error;
      },
    });
    try {
      await Promise.all([subscription.ready, bystander.ready]);
      expect(resyncs).toBe(1);
      await raw.publish(changesChannel(dbName), 'garbage');
      await publisher.publish({ kind: 'tenant', id: 'acme' });
      await publisher.publish({ kind: 'apiKey', id: 'Kx7Qp2Lm9Zr4' });
      await waitFor(() => received.length === 2);
      expect(received).toEqual([
        { kind: 'tenant', id: 'acme' },
        { kind: 'apiKey', id: 'Kx7Qp2Lm9Zr4' },
      ]);
      expect(other).toEqual([]);
    } finally {
      await publisher.close();
      await subscription.close();
      await bystander.close();
      raw.disconnect();
    }
  });

  it('resume after the subscriber loses its connection, and have the caches reload', async () => {
    const received: ControlPlaneChange[] = [];
    const logged: string[] = [];
    let resyncs = 0;
    const logger = createLogger({ sink: (line) => logged.push((JSON.parse(line) as { msg: string }).msg) });
    const subscription = subscribeToChanges({
      redisUrl,
      dbName,
      logger,
      onChange: (c) => received.push(c),
      onResync: () => resyncs++,
    });
    const raw = new Redis(redisUrl);
    const publisher = createChangePublisher({
      redisUrl,
      dbName,
      onError: (error) => {
        throw error;
      },
    });
    try {
      await subscription.ready;
      const clients = (await raw.client('LIST')) as string;
      const id = /id=(\d+) [^\n]*name=tollgate-changes:(\S+)/.exec(
        clients.split('\n').find((line) => line.includes(`name=tollgate-changes:${dbName} `)) ?? '',
      )?.[1];
      expect(id).toBeDefined();
      await raw.client('KILL', 'ID', id!);
      await waitFor(() => resyncs === 2, 5_000);
      expect(logged).toEqual([
        'control-plane change subscription lost; serving cached tenants and keys within their lifetime',
        'control-plane change subscription restored; reloading cached tenants and keys',
      ]);
      await publisher.publish({ kind: 'plan', id: 'pro' });
      await waitFor(() => received.length === 1);
    } finally {
      await publisher.close();
      await subscription.close();
      raw.disconnect();
    }
  });

  it('report a failed announcement instead of throwing or hanging', async () => {
    const errors: unknown[] = [];
    const publisher = createChangePublisher({
      redisUrl: 'redis://127.0.0.1:1',
      dbName,
      onError: (error) => errors.push(error),
    });
    const started = Date.now();
    await publisher.publish({ kind: 'tenant', id: 'acme' });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(errors).toHaveLength(1);
    await publisher.close();
  });
});
