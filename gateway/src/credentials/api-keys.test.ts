import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { redact } from '../../../common/logger';
import type { ChangePublisher, ControlPlaneChange } from '../tenants/changes';
import { RegistryError, RegistryValidationError } from '../control-plane/registry-common';
import { openControlPlane, type ControlPlane } from '../control-plane/open';
import {
  API_KEY_SCOPES,
  apiKeyEndsAt,
  apiKeyStatus,
  hashApiKeySecret,
  parseApiKey,
  secretMatches,
  type ApiKeyRecord,
  type NewApiKey,
} from './api-keys';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('the key format', () => {
  it('is tg_live_<12 base62 id>_<40 base62 secret> and parses back', () => {
    const key = `tg_live_${'a1B2c3D4e5F6'}_${'Z'.repeat(40)}`;
    expect(parseApiKey(key)).toEqual({ keyId: 'a1B2c3D4e5F6', secret: 'Z'.repeat(40) });
  });

  it.each([
    ['a test key', `tg_test_a1B2c3D4e5F6_${'Z'.repeat(40)}`],
    ['a short secret', `tg_live_a1B2c3D4e5F6_${'Z'.repeat(39)}`],
    ['a long id', `tg_live_a1B2c3D4e5F6x_${'Z'.repeat(40)}`],
    ['other characters', `tg_live_a1B2c3D4e5F6_${'Z'.repeat(39)}-`],
    ['surrounding space', ` tg_live_a1B2c3D4e5F6_${'Z'.repeat(40)}`],
  ])('refuses %s', (_label, key) => {
    expect(parseApiKey(key)).toBeUndefined();
  });

  it('compares secrets by hash, in constant time', () => {
    const stored = hashApiKeySecret('s'.repeat(40));
    expect(secretMatches('s'.repeat(40), stored)).toBe(true);
    expect(secretMatches('t'.repeat(40), stored)).toBe(false);
    expect(secretMatches('s'.repeat(40), stored.slice(2))).toBe(false);
  });

  it('is redacted whole by the logger, secret included', () => {
    const key = `tg_live_a1B2c3D4e5F6_${'Z'.repeat(40)}`;
    const logged = JSON.stringify(redact({ msg: `got ${key} in a URL`, url: `/graphql?api_key=${key}` }));
    expect(logged).not.toContain('Z'.repeat(10));
    expect(logged).not.toContain('a1B2c3D4e5F6');
  });
});

describe('key status', () => {
  const base: ApiKeyRecord = {
    id: 'a1B2c3D4e5F6',
    tenantId: 'acme',
    clientName: 'c',
    scopes: ['catalog:read'],
    manifest: 'm',
    createdAt: new Date(0),
    expiresAt: new Date(10_000),
  };

  it.each([
    ['active', {}, 5_000, 'active'],
    ['expired', {}, 10_000, 'expired'],
    ['retiring', { retiresAt: new Date(6_000) }, 5_000, 'retiring'],
    ['rotated out', { retiresAt: new Date(6_000) }, 6_000, 'rotated-out'],
    ['revoked, whatever else', { revokedAt: new Date(1), retiresAt: new Date(6_000) }, 5_000, 'revoked'],
  ])('%s', (_label, overrides, now, status) => {
    expect(apiKeyStatus({ ...base, ...overrides }, now)).toBe(status);
  });

  it('ends at the expiry or the end of the overlap, whichever is first', () => {
    expect(apiKeyEndsAt(base)).toBe(10_000);
    expect(apiKeyEndsAt({ ...base, retiresAt: new Date(6_000) })).toBe(6_000);
  });
});

describe('the API key registry', () => {
  const mongoUri = process.env.TEST_MONGODB_URI ?? '';
  const dbName = `tollgate_control_test_${randomBytes(6).toString('hex')}`;
  const announced: ControlPlaneChange[] = [];
  const changes: ChangePublisher = {
    publish: async (change) => {
      announced.push(change);
    },
    close: async () => undefined,
  };
  let controlPlane: ControlPlane;
  let raw: Connection;

  const request = (overrides: Partial<NewApiKey> = {}): NewApiKey => ({
    tenantId: 'acme',
    clientName: 'Acme ERP',
    scopes: ['catalog:read', 'inventory:read'],
    manifest: 'erp-v1',
    expiresAt: new Date(Date.now() + 90 * DAY),
    ...overrides,
  });

  beforeAll(async () => {
    controlPlane = await openControlPlane({ mongoUri, dbName, changes });
    raw = await mongoose.createConnection(mongoUri, { dbName }).asPromise();
    await controlPlane.tenants.createTenant({ id: 'acme', name: 'Acme' });
    await controlPlane.tenants.createTenant({ id: 'globex', name: 'Globex' });
  });

  afterAll(async () => {
    await controlPlane?.dropDatabase();
    await controlPlane?.close();
    await raw?.close();
  });

  beforeEach(() => {
    announced.length = 0;
  });

  it('issues a key bound to one tenant and stores only the hash of its secret', async () => {
    const { key, record } = await controlPlane.apiKeys.issue(request({ scopes: ['catalog:read', 'catalog:read'] }));
    const parsed = parseApiKey(key);
    expect(parsed?.keyId).toBe(record.id);
    expect(record).toMatchObject({
      tenantId: 'acme',
      clientName: 'Acme ERP',
      scopes: ['catalog:read'],
      manifest: 'erp-v1',
    });
    const stored = await raw.collection('apiKeys').findOne({ _id: record.id as never });
    expect(JSON.stringify(stored)).not.toContain(parsed!.secret);
    expect(stored?.secretHash).toBe(hashApiKeySecret(parsed!.secret));
  });

  it('issues keys that differ in id and secret', async () => {
    const [a, b] = await Promise.all([controlPlane.apiKeys.issue(request()), controlPlane.apiKeys.issue(request())]);
    expect(parseApiKey(a.key)?.keyId).not.toBe(parseApiKey(b.key)?.keyId);
    expect(parseApiKey(a.key)?.secret).not.toBe(parseApiKey(b.key)?.secret);
  });

  it.each([
    ['no scopes', { scopes: [] }, 'scopes must be one or more of'],
    ['an unknown scope', { scopes: ['catalog:read', 'admin'] }, 'scopes must be one or more of'],
    ['a bad manifest id', { manifest: '../etc/passwd' }, 'manifest must be a manifest id'],
    ['an expiry in the past', { expiresAt: new Date(Date.now() - 1_000) }, 'expiry must be in the future'],
    ['an expiry over a year away', { expiresAt: new Date(Date.now() + 400 * DAY) }, 'at most 366 days'],
    ['a client name with control characters', { clientName: 'ERP\u0000' }, 'client name must be'],
    ['a tenant that is not an id', { tenantId: 'ACME' }, 'tenant must be a tenant id'],
  ])('refuses %s', async (_label, overrides, problem) => {
    const error = await controlPlane.apiKeys.issue(request(overrides as Partial<NewApiKey>)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryValidationError);
    expect((error as Error).message).toContain(problem);
  });

  it('refuses a tenant that does not exist', async () => {
    await expect(controlPlane.apiKeys.issue(request({ tenantId: 'initech' }))).rejects.toThrow('no tenant initech');
  });

  it('lists keys without their hashes, per tenant', async () => {
    const { record } = await controlPlane.apiKeys.issue(request({ tenantId: 'globex', clientName: 'Globex WMS' }));
    const listed = await controlPlane.apiKeys.list({ tenantId: 'globex' });
    expect(listed).toEqual([record]);
    expect(JSON.stringify(listed)).not.toContain('secretHash');
    expect(await controlPlane.apiKeys.list({ tenantId: { $ne: null } as never })).toEqual([]);
    expect((await controlPlane.apiKeys.list()).length).toBeGreaterThan(1);
  });

  it('revokes at once, announces it, and treats a second revocation as done', async () => {
    const { record } = await controlPlane.apiKeys.issue(request());
    const revoked = await controlPlane.apiKeys.revoke(record.id);
    expect(apiKeyStatus(revoked, Date.now())).toBe('revoked');
    // Announced when issued (gateways add the id to their key-id index) and when revoked.
    expect(announced).toEqual([
      { kind: 'apiKey', id: record.id },
      { kind: 'apiKey', id: record.id },
    ]);
    expect((await controlPlane.apiKeys.revoke(record.id)).revokedAt).toEqual(revoked.revokedAt);
    await expect(controlPlane.apiKeys.revoke('nope00000000')).rejects.toBeInstanceOf(RegistryError);
    await expect(controlPlane.apiKeys.revoke('not a key id')).rejects.toBeInstanceOf(RegistryError);
  });

  it('rotates: a replacement with the same grants, and the old key kept for the overlap', async () => {
    const { record: old } = await controlPlane.apiKeys.issue(request({ expiresAt: new Date(Date.now() + 30 * DAY) }));
    const before = Date.now();
    const { issued, retiring } = await controlPlane.apiKeys.rotate(old.id, { overlapMs: HOUR });
    expect(issued.record).toMatchObject({
      tenantId: old.tenantId,
      clientName: old.clientName,
      scopes: old.scopes,
      manifest: old.manifest,
      replaces: old.id,
    });
    // The replacement lives as long as the old key was meant to.
    expect(issued.record.expiresAt.getTime() - issued.record.createdAt.getTime()).toBe(
      old.expiresAt.getTime() - old.createdAt.getTime(),
    );
    expect(retiring.replacedBy).toBe(issued.record.id);
    expect(retiring.retiresAt!.getTime()).toBeGreaterThanOrEqual(before + HOUR);
    expect(apiKeyStatus(retiring, Date.now())).toBe('retiring');
    expect(apiKeyStatus(retiring, before + HOUR + 1_000)).toBe('rotated-out');
    // The old key when issued, its replacement when issued, the old key when rotated.
    expect(announced).toEqual([
      { kind: 'apiKey', id: old.id },
      { kind: 'apiKey', id: issued.record.id },
      { kind: 'apiKey', id: old.id },
    ]);
    await expect(controlPlane.apiKeys.rotate(old.id, { overlapMs: HOUR })).rejects.toThrow(
      'is retiring and cannot be rotated',
    );
  });

  it('never lets the overlap outlive the old key', async () => {
    const { record: old } = await controlPlane.apiKeys.issue(request({ expiresAt: new Date(Date.now() + HOUR) }));
    const { retiring } = await controlPlane.apiKeys.rotate(old.id, { overlapMs: 2 * DAY });
    expect(retiring.retiresAt).toEqual(old.expiresAt);
  });

  it('refuses to rotate a revoked key, or with an overlap out of range', async () => {
    const { record } = await controlPlane.apiKeys.issue(request());
    await expect(controlPlane.apiKeys.rotate(record.id, { overlapMs: 31 * DAY })).rejects.toBeInstanceOf(
      RegistryValidationError,
    );
    await controlPlane.apiKeys.revoke(record.id);
    await expect(controlPlane.apiKeys.rotate(record.id, { overlapMs: HOUR })).rejects.toThrow('is revoked');
  });

  it('records use without ever moving lastUsedAt backwards', async () => {
    const { record } = await controlPlane.apiKeys.issue(request());
    const t = Date.now();
    await controlPlane.apiKeys.recordUse(new Map([[record.id, t]]));
    await controlPlane.apiKeys.recordUse(new Map([[record.id, t - 60_000]]));
    expect((await controlPlane.apiKeys.get(record.id))?.lastUsedAt?.getTime()).toBe(t);
  });

  it('has the scopes partners act through', () => {
    expect(API_KEY_SCOPES).toEqual([
      'catalog:read',
      'catalog:write',
      'inventory:read',
      'inventory:write',
      'reviews:read',
      'reviews:write',
      'users:read',
    ]);
  });
});
