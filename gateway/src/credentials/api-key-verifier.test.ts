import { createLogger } from '../../../common/logger';
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';
import { ApiKeyVerifier, type ApiKeySource } from './api-key-verifier';
import { hashApiKeySecret, type StoredApiKey } from './api-keys';

const KEY_ID = 'Kx7Qp2Lm9Zr4';
const SECRET = 'q'.repeat(20) + 'R'.repeat(20);
const KEY = `tg_live_${KEY_ID}_${SECRET}`;
const T0 = 1_700_000_000_000;

class FakeSource implements ApiKeySource {
  readonly keys = new Map<string, StoredApiKey>();
  reads = 0;
  failing = false;
  writes: Map<string, number>[] = [];
  failWrites = false;

  async findForVerification(keyId: string): Promise<StoredApiKey | undefined> {
    this.reads++;
    if (this.failing) throw new Error('connection refused');
    return this.keys.get(keyId);
  }

  async recordUse(lastUsed: ReadonlyMap<string, number>): Promise<void> {
    if (this.failWrites) throw new Error('write failed');
    this.writes.push(new Map(lastUsed));
  }

  store(overrides: Partial<StoredApiKey> = {}): void {
    this.keys.set(KEY_ID, {
      id: KEY_ID,
      tenantId: 'acme',
      clientName: 'ERP',
      scopes: ['catalog:read'],
      manifest: 'erp-v1',
      createdAt: new Date(T0 - 1_000),
      expiresAt: new Date(T0 + 86_400_000),
      secretHash: hashApiKeySecret(SECRET),
      ...overrides,
    });
  }
}

describe('ApiKeyVerifier', () => {
  let source: FakeSource;
  let now: number;
  let verifier: ApiKeyVerifier;

  beforeEach(() => {
    source = new FakeSource();
    source.store();
    now = T0;
    verifier = new ApiKeyVerifier({
      source,
      logger: createLogger({ sink: () => undefined }),
      ttlMs: 4_000,
      now: () => now,
    });
  });

  afterEach(async () => {
    await verifier.close();
  });

  it('verifies a key from memory after the first read', async () => {
    expect(await verifier.verify(KEY)).toMatchObject({ ok: true, key: { id: KEY_ID, tenantId: 'acme' } });
    await verifier.verify(KEY);
    expect(source.reads).toBe(1);
  });

  it('does not read anything for a key of the wrong shape', async () => {
    expect(await verifier.verify('tg_live_nope')).toEqual({ ok: false, reason: 'malformed' });
    expect(source.reads).toBe(0);
  });

  it('checks the secret before telling revoked from active', async () => {
    source.store({ revokedAt: new Date(T0 - 1) });
    expect(await verifier.verify(`tg_live_${KEY_ID}_${'x'.repeat(40)}`)).toEqual({ ok: false, reason: 'bad-secret' });
    expect(await verifier.verify(KEY)).toEqual({ ok: false, reason: 'revoked', key: { id: KEY_ID, tenantId: 'acme' } });
  });

  it('sees a revocation as soon as it is announced', async () => {
    await verifier.verify(KEY);
    source.store({ revokedAt: new Date(now) });
    expect((await verifier.verify(KEY)).ok).toBe(true);
    verifier.applyChange({ kind: 'tenant', id: 'acme' });
    expect((await verifier.verify(KEY)).ok).toBe(true);
    verifier.applyChange({ kind: 'apiKey', id: KEY_ID });
    expect(await verifier.verify(KEY)).toEqual({ ok: false, reason: 'revoked', key: { id: KEY_ID, tenantId: 'acme' } });
  });

  it('sees a revocation whose announcement was lost within the cache lifetime', async () => {
    await verifier.verify(KEY);
    source.store({ revokedAt: new Date(now) });
    now += 4_000;
    expect(await verifier.verify(KEY)).toEqual({ ok: false, reason: 'revoked', key: { id: KEY_ID, tenantId: 'acme' } });
  });

  it('reloads every key on resync', async () => {
    await verifier.verify(KEY);
    verifier.resync();
    await verifier.verify(KEY);
    expect(source.reads).toBe(2);
  });

  it('ends a rotated key at the end of its overlap, and an expired one at its expiry', async () => {
    source.store({ retiresAt: new Date(T0 + 60_000), expiresAt: new Date(T0 + 120_000) });
    expect((await verifier.verify(KEY)).ok).toBe(true);
    now = T0 + 60_000;
    expect(await verifier.verify(KEY)).toEqual({
      ok: false,
      reason: 'rotated-out',
      key: { id: KEY_ID, tenantId: 'acme' },
    });
    source.store({ expiresAt: new Date(T0 + 120_000) });
    verifier.resync();
    now = T0 + 120_000;
    expect(await verifier.verify(KEY)).toEqual({ ok: false, reason: 'expired', key: { id: KEY_ID, tenantId: 'acme' } });
  });

  it('serves a cached key while the registry is unreadable, and fails closed for one it never saw', async () => {
    await verifier.verify(KEY);
    source.failing = true;
    now += 10_000;
    expect((await verifier.verify(KEY)).ok).toBe(true);
    await expect(verifier.verify(`tg_live_${'A'.repeat(12)}_${SECRET}`)).rejects.toBeInstanceOf(
      ControlPlaneUnavailableError,
    );
  });

  it('writes lastUsedAt once per interval per key, with the latest use', async () => {
    await verifier.verify(KEY);
    now += 10_000;
    await verifier.verify(KEY);
    await verifier.verify(KEY);
    await verifier.flushUsage();
    await verifier.flushUsage();
    expect(source.writes).toEqual([new Map([[KEY_ID, T0 + 10_000]])]);
  });

  it('never notes a refused key as used', async () => {
    await verifier.verify(`tg_live_${KEY_ID}_${'x'.repeat(40)}`);
    await verifier.flushUsage();
    expect(source.writes).toEqual([]);
  });

  it('keeps the uses it could not write for the next flush', async () => {
    await verifier.verify(KEY);
    source.failWrites = true;
    await verifier.flushUsage();
    source.failWrites = false;
    await verifier.flushUsage();
    expect(source.writes).toEqual([new Map([[KEY_ID, T0]])]);
  });

  it('writes what is pending when closed', async () => {
    await verifier.verify(KEY);
    await verifier.close();
    expect(source.writes).toHaveLength(1);
  });
});

describe('ApiKeyVerifier with a key-id index', () => {
  const OTHER = `tg_live_Zz9Zz9Zz9Zz9_${SECRET}`;
  let source: FakeSource;
  let now: number;
  let excluded: Set<string>;
  let verifier: ApiKeyVerifier;

  beforeEach(() => {
    source = new FakeSource();
    source.store();
    now = T0;
    excluded = new Set(['Zz9Zz9Zz9Zz9']);
    verifier = new ApiKeyVerifier({
      source,
      logger: createLogger({ sink: () => undefined }),
      ttlMs: 4_000,
      now: () => now,
      knownKeyIds: { excludes: (keyId) => excluded.has(keyId) },
    });
  });

  afterEach(async () => {
    await verifier.close();
  });

  it('refuses an id the index excludes without a read, and reads the others', async () => {
    for (let i = 0; i < 100; i++) expect(await verifier.verify(OTHER)).toEqual({ ok: false, reason: 'unknown' });
    expect(source.reads).toBe(0);
    expect((await verifier.verify(KEY)).ok).toBe(true);
    expect(source.reads).toBe(1);
  });

  it('verifies from memory only what it has fresh, and says when it would need a read', async () => {
    expect(verifier.verifyFromMemory(OTHER)).toEqual({ ok: false, reason: 'unknown' });
    expect(verifier.verifyFromMemory('tg_live_short')).toEqual({ ok: false, reason: 'malformed' });
    expect(verifier.verifyFromMemory(KEY)).toBeUndefined();
    expect(source.reads).toBe(0);
    await verifier.verify(KEY);
    expect(verifier.verifyFromMemory(KEY)).toMatchObject({ ok: true });
    expect(verifier.verifyFromMemory(`tg_live_${KEY_ID}_${'x'.repeat(40)}`)).toEqual({
      ok: false,
      reason: 'bad-secret',
    });
    // An invalidated record (a revocation was announced) is not fresh: memory cannot vouch for it.
    verifier.applyChange({ kind: 'apiKey', id: KEY_ID });
    expect(verifier.verifyFromMemory(KEY)).toBeUndefined();
    await verifier.verify(KEY);
    now += 4_000;
    expect(verifier.verifyFromMemory(KEY)).toBeUndefined();
    expect(source.reads).toBe(2);
  });
});
