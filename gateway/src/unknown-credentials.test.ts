/**
 * Unknown credentials are answered from memory, and failed authentications are held back per client — over real
 * HTTP against the test platform's gateway, counting every command the gateway sends to its control plane with
 * the driver's command monitoring. Clients come from distinct loopback addresses (127.0.0.0/8 is all local on
 * Linux), so the per-address limit can be exercised and kept out of the way.
 */
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { mongo } from 'mongoose';
import type { IssuedApiKey } from './credentials/api-keys';
import { DEFAULT_API_KEY_INDEX } from './config';
import { byId, testManifest } from './testing/manifests';
import { startTestPlatform, type TestPlatform } from './testing/platform';
import { openControlPlane, type ControlPlane } from './control-plane/open';

const WHOAMI = 'query Who { whoami { tenant principal roles } }';
const WHOAMI_BY_ID = JSON.stringify(byId(WHOAMI));
const DAY = 86_400_000;
const PER_ADDRESS = 20;
const PER_KEY = 5;
const HOLD_MS = 30_000;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** POSTs to /graphql from `localAddress`. */
function post(
  url: string,
  headers: Record<string, string>,
  localAddress: string,
  body = WHOAMI_BY_ID,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/graphql`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Answer['body'] }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function base62(length: number): string {
  return [...randomBytes(length)].map((byte) => BASE62[byte % 62]).join('');
}

const madeUpKey = () => `tg_live_${base62(12)}_${base62(40)}`;

interface SeenCommand {
  name: string;
  collection: unknown;
  filter: unknown;
  projection: unknown;
}

/** The key-id index's background read: ids (and creation times) only. */
function isIndexRefresh(command: SeenCommand): boolean {
  return (
    command.name === 'find' &&
    command.collection === 'apiKeys' &&
    JSON.stringify(command.projection) === '{"_id":1,"createdAt":1}'
  );
}

/** Reads of one API key by id: what verification costs when it reaches the control plane. */
function keyReads(commands: readonly SeenCommand[]): unknown[] {
  return commands
    .filter(
      (c) =>
        c.name === 'find' &&
        c.collection === 'apiKeys' &&
        typeof c.filter === 'object' &&
        c.filter !== null &&
        '_id' in c.filter,
    )
    .map((c) => (c.filter as { _id: unknown })._id);
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('unknown credentials and failed authentications', () => {
  let platform: TestPlatform;
  const commands: SeenCommand[] = [];
  let valid: IssuedApiKey;

  const issue = (controlPlane: ControlPlane = platform.controlPlane) =>
    controlPlane.apiKeys.issue({
      tenantId: 'globex',
      clientName: 'Globex WMS',
      scopes: ['inventory:read'],
      manifest: 'wms-v1',
      expiresAt: new Date(Date.now() + 30 * DAY),
    });

  beforeAll(async () => {
    platform = await startTestPlatform(
      {
        authFailures: {
          maxPerAddress: PER_ADDRESS,
          maxPerApiKey: PER_KEY,
          windowMs: 60_000,
          holdMs: HOLD_MS,
          trackedClients: 10_000,
        },
      },
      {
        onControlPlaneCommand: (event: mongo.CommandStartedEvent) => {
          const command = event.command as Record<string, unknown>;
          commands.push({
            name: event.commandName,
            collection: command[event.commandName],
            filter: command.filter,
            projection: command.projection,
          });
        },
      },
    );
    await platform.controlPlane.manifests.publish(
      'globex',
      'wms-v1',
      testManifest(platform.config.supergraphPath, WHOAMI),
    );
    valid = await issue();
  });

  afterAll(async () => {
    await platform.stop();
  });

  it('refuses 1,000 made-up keys with 401 and not one read of the control plane', async () => {
    // The counting sees a key read when there is one: a real key id with a wrong secret, not cached yet.
    const before = commands.length;
    const wrongSecret = await post(
      platform.gateway.url,
      { 'x-api-key': `tg_live_${valid.record.id}_${base62(40)}` },
      '127.0.0.2',
    );
    expect(wrongSecret.status).toBe(401);
    expect(keyReads(commands.slice(before))).toEqual([valid.record.id]);

    // 1,000 made-up keys from 100 addresses, 10 each: below the per-address limit, so every one is verified.
    const keys = Array.from({ length: 1_000 }, madeUpKey);
    const started = commands.length;
    const statuses = new Map<number, number>();
    await inBatches(
      keys.map((key, i) => ({ key, from: `127.0.1.${(i % 100) + 1}` })),
      25,
      async ({ key, from }) => {
        const res = await post(platform.gateway.url, { 'x-api-key': key }, from);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 401) expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
      },
    );
    const during = commands.slice(started);
    expect(statuses).toEqual(new Map([[401, 1_000]]));
    // Background reads may fall into the flood — the index's refresh and the published-supergraph poll (every 4 s
    // each, supergraph/control-plane-source.ts); anything else is caused by it.
    const background = (c: SeenCommand) => isIndexRefresh(c) || (c.name === 'find' && c.collection === 'supergraphs');
    expect(during.filter((c) => !background(c))).toEqual([]);
    expect(during.filter(isIndexRefresh).length).toBeLessThanOrEqual(10);
    const reasons = platform.logs.filter((l) => l.msg === 'request' && l.status === 401).map((l) => l.reason);
    expect(reasons.filter((r) => r === 'api-key:unknown')).toHaveLength(1_000);
  });

  it(`holds an address back after ${PER_ADDRESS} failures with 429 and Retry-After; other addresses and known credentials are served`, async () => {
    const attacker = '127.0.2.1';
    for (let i = 0; i < PER_ADDRESS; i++) {
      expect((await post(platform.gateway.url, { 'x-api-key': madeUpKey() }, attacker)).status).toBe(401);
    }
    const heldCommandsFrom = commands.length;
    const held = await post(platform.gateway.url, { 'x-api-key': madeUpKey() }, attacker);
    expect(held.status).toBe(429);
    expect(held.body).toEqual({
      errors: [{ message: 'Too many failed authentications; try again later.', extensions: { code: 'RATE_LIMITED' } }],
    });
    const retryAfter = Number(held.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(HOLD_MS / 1000 - 5);
    expect(retryAfter).toBeLessThanOrEqual(HOLD_MS / 1000);
    // A token this replica never verified would cost a signature check: held back too.
    const unverified = await post(
      platform.gateway.url,
      { authorization: `Bearer ${await platform.issuer.sign({ tenant: 'acme' })}` },
      attacker,
    );
    expect(unverified.status).toBe(429);
    // A known key of a real id with a wrong secret: held back, not a 401 the attacker could learn from.
    expect(
      (await post(platform.gateway.url, { 'x-api-key': `tg_live_${valid.record.id}_${base62(40)}` }, attacker)).status,
    ).toBe(429);
    // Held back means no work: nothing was read for any of these.
    expect(commands.slice(heldCommandsFrom).filter((c) => !isIndexRefresh(c))).toEqual([]);

    // Another address is served; then the same key from the held-back address too, answered from memory.
    const other = await post(platform.gateway.url, { 'x-api-key': valid.key }, '127.0.2.2');
    expect(other.status).toBe(200);
    expect(other.body.data).toEqual({ whoami: { tenant: 'globex', principal: `key:${valid.record.id}`, roles: [] } });
    const shared = await post(platform.gateway.url, { 'x-api-key': valid.key }, attacker);
    expect(shared.status).toBe(200);

    const heldLines = platform.logs.filter((l) => l.msg === 'request' && l.status === 429);
    expect(heldLines.map((l) => l.reason)).toEqual(['address-held-back', 'address-held-back', 'address-held-back']);
    expect(heldLines.every((l) => JSON.stringify(l.errorCodes) === '["RATE_LIMITED"]')).toBe(true);
    expect(platform.logs).toContainEqual(
      expect.objectContaining({ msg: 'client held back after failed authentications', client: attacker }),
    );
  });

  it(`answers wrong secrets for one key id 429 after ${PER_KEY}, from any address, and still serves its right secret`, async () => {
    const { key, record } = await issue();
    const wrong = () => `tg_live_${record.id}_${base62(40)}`;
    // The key's announcement reaches the gateway's index asynchronously (Redis pub/sub): until it has, a wrong
    // secret for this id is an unknown key, which counts against its address only. Wait until the key is known.
    const knownBy = Date.now() + 5_000;
    while ((await post(platform.gateway.url, { 'x-api-key': key }, '127.0.3.200')).status !== 200) {
      if (Date.now() > knownBy) throw new Error('the new key was not usable within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (let i = 1; i <= PER_KEY; i++)
      expect((await post(platform.gateway.url, { 'x-api-key': wrong() }, `127.0.3.${i}`)).status).toBe(401);
    const held = await post(platform.gateway.url, { 'x-api-key': wrong() }, '127.0.3.100');
    expect(held.status).toBe(429);
    expect(held.body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED' });
    expect(Number(held.headers['retry-after'])).toBeGreaterThan(0);
    expect((await post(platform.gateway.url, { 'x-api-key': key }, '127.0.3.101')).status).toBe(200);
    expect(platform.logs).toContainEqual(
      expect.objectContaining({ msg: 'API key held back after failed authentications', apiKeyId: record.id }),
    );
  });

  it('serves a key created through the control plane at once when announced, within the refresh period when not; a revoked key is refused', async () => {
    // The CLI's path: ApiKeyRegistry.issue on a control plane that announces its writes.
    const announced = await issue();
    const startedAnnounced = Date.now();
    let res = await post(platform.gateway.url, { 'x-api-key': announced.key }, '127.0.4.1');
    while (res.status !== 200 && Date.now() - startedAnnounced < 1_000)
      res = await post(platform.gateway.url, { 'x-api-key': announced.key }, '127.0.4.1');
    expect(res.status).toBe(200);

    // A writer whose announcements are lost (Redis down for it): the index's refresh finds the key.
    const silent = await openControlPlane({
      mongoUri: platform.config.controlPlane.mongoUri,
      dbName: platform.config.controlPlane.dbName,
    });
    try {
      const quiet = await issue(silent);
      const started = Date.now();
      // Polled from a new address each time: the polls are failed authentications until the key is known.
      let attempt = 0;
      let served = await post(platform.gateway.url, { 'x-api-key': quiet.key }, '127.0.5.0');
      while (served.status !== 200 && Date.now() - started < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        attempt++;
        served = await post(platform.gateway.url, { 'x-api-key': quiet.key }, `127.0.5.${attempt % 250}`);
      }
      expect(served.status).toBe(200);
      // The promise: every replica serves a new key within the refresh period (4 s), plus the read itself.
      expect(Date.now() - started).toBeLessThan(DEFAULT_API_KEY_INDEX.refreshMs + 1_000);

      await platform.controlPlane.apiKeys.revoke(announced.record.id);
      const revokedAt = Date.now();
      let refused = await post(platform.gateway.url, { 'x-api-key': announced.key }, '127.0.4.4');
      while (refused.status === 200 && Date.now() - revokedAt < 5_000)
        refused = await post(platform.gateway.url, { 'x-api-key': announced.key }, '127.0.4.4');
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    } finally {
      await silent.close();
    }
  });
});
