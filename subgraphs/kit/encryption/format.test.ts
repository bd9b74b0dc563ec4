import { randomBytes } from 'node:crypto';
import {
  CiphertextError,
  blindIndex,
  isSealed,
  keyVersionOf,
  open,
  parseSealed,
  seal,
  type ValueContext,
} from './format';
import { createMasterKeyProvider, KeyUnwrapError } from './key-provider';

const key = randomBytes(32);
const acme: ValueContext = { tenantId: 'acme', field: 'users.email' };

describe('the v1 format', () => {
  test('round-trips, names its key version, and never repeats an IV', () => {
    const a = seal(key, 3, acme, 'admin@acme.test');
    const b = seal(key, 3, acme, 'admin@acme.test');
    expect(a).toMatch(/^v1:3:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(parseSealed(a).iv.length).toBe(12);
    expect(keyVersionOf(a)).toBe(3);
    expect(isSealed(a)).toBe(true);
    expect(isSealed('admin@acme.test')).toBe(false);
    expect(open(key, acme, a)).toBe('admin@acme.test');
    expect(open(key, acme, seal(key, 1, acme, 'Zoë ✓'))).toBe('Zoë ✓');
    expect(open(key, acme, seal(key, 1, acme, ''))).toBe('');
  });

  test('another tenant, another field, another key or a tampered byte does not decrypt', () => {
    const sealed = seal(key, 1, acme, 'admin@acme.test');
    expect(() => open(key, { tenantId: 'globex', field: 'users.email' }, sealed)).toThrow(CiphertextError);
    expect(() => open(key, { tenantId: 'acme', field: 'users.name' }, sealed)).toThrow(CiphertextError);
    expect(() => open(randomBytes(32), acme, sealed)).toThrow(CiphertextError);
    // The version is authenticated too: relabelling a value as another version fails.
    expect(() => open(key, acme, sealed.replace(/^v1:1:/, 'v1:2:'))).toThrow(CiphertextError);
    const body = sealed.split(':')[3]!;
    const flipped = (body[0] === 'A' ? 'B' : 'A') + body.slice(1);
    expect(() => open(key, acme, sealed.replace(body, flipped))).toThrow(CiphertextError);
  });

  test('malformed values are refused without echoing them', () => {
    for (const bad of ['v1:', 'v1:1:abc', 'v1:0:AAAAAAAAAAAAAAAA:AAAA', 'v1:1:AAAA:AAAA', 'v1:x:a:b', 'v1:1:a:b:c']) {
      expect(() => open(key, acme, bad)).toThrow(CiphertextError);
      try {
        open(key, acme, bad);
      } catch (error) {
        expect((error as Error).message).not.toContain(bad);
      }
    }
    expect(() => open(key, acme, 'clear text')).toThrow(CiphertextError);
    expect(() => seal(randomBytes(16), 1, acme, 'x')).toThrow(CiphertextError);
    expect(() => seal(key, 0, acme, 'x')).toThrow(CiphertextError);
    expect(keyVersionOf('v1:abc:x:y')).toBeUndefined();
  });
});

describe('the blind index', () => {
  test('is equal for equal normalised addresses, differs by key, and hides the address', () => {
    const indexKey = randomBytes(32);
    const a = blindIndex(indexKey, ' Admin@ACME.test ');
    expect(a).toBe(blindIndex(indexKey, 'admin@acme.test'));
    expect(a).not.toBe(blindIndex(indexKey, 'staff@acme.test'));
    expect(a).not.toBe(blindIndex(randomBytes(32), 'admin@acme.test'));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toContain('admin');
  });
});

describe('the master-key provider', () => {
  test('unwraps what it wrapped for the same context only, and not under another master key', async () => {
    const provider = createMasterKeyProvider(randomBytes(32));
    const dataKey = randomBytes(32);
    const wrapped = await provider.wrap(dataKey, 'tollgate-tenant-data-key:acme:1');
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(await provider.unwrap(wrapped, 'tollgate-tenant-data-key:acme:1')).toEqual(dataKey);
    await expect(provider.unwrap(wrapped, 'tollgate-tenant-data-key:globex:1')).rejects.toThrow(KeyUnwrapError);
    await expect(createMasterKeyProvider(randomBytes(32)).unwrap(wrapped, 'x')).rejects.toThrow(KeyUnwrapError);
    await expect(provider.unwrap(Buffer.alloc(10), 'x')).rejects.toThrow(KeyUnwrapError);
    expect(provider.id).toMatch(/^local:[0-9a-f]{16}$/);
    expect(() => createMasterKeyProvider(randomBytes(16))).toThrow();
  });
});
