import { parse, print, visit, type DocumentNode } from 'graphql';
import { createByteBoundedCache, documentBytes, dropLocations } from './cache';

describe('createByteBoundedCache', () => {
  const kib = (n: number) => ({ payload: 'x'.repeat(n * 512) });
  const sizeOf = (value: { payload: string }) => value.payload.length * 2;

  it('keeps its entries within the byte bound, dropping the least recently used', () => {
    const cache = createByteBoundedCache({ name: 'test', maxBytes: 64 * 1024, sizeOf });
    for (let i = 0; i < 200; i += 1) {
      cache.set(`k${i}`, kib(1));
      if (i > 0) expect(cache.get('k0')).toBeDefined(); // used on every round: never the least recent
    }
    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(stats.bytes).toBeGreaterThan(48 * 1024);
    expect(stats.entries).toBeLessThan(64);
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k199')).toBeDefined();
  });

  it('measures an entry again when it is set again after growing', () => {
    const cache = createByteBoundedCache({ name: 'test', maxBytes: 1024 * 1024, sizeOf });
    const value = kib(1);
    cache.set('a', value);
    const before = cache.stats().bytes;
    value.payload += 'y'.repeat(4096);
    cache.set('a', value);
    expect(cache.stats().bytes - before).toBe(8192);
    expect(cache.stats().entries).toBe(1);
  });

  it('does not keep an entry larger than a quarter of the bound', () => {
    const cache = createByteBoundedCache({ name: 'test', maxBytes: 64 * 1024, sizeOf });
    cache.set('small', kib(1));
    cache.set('huge', kib(20));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('small')).toBeDefined();
  });

  it('counts keys too, and bounds entries as well when asked', () => {
    const cache = createByteBoundedCache<string>({
      name: 'test',
      maxBytes: 1024 * 1024,
      maxEntries: 3,
      sizeOf: () => 0,
    });
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key.repeat(1000), key);
    expect(cache.stats().entries).toBe(3);
    expect(cache.stats().bytes).toBeGreaterThan(3 * 2000);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => createByteBoundedCache({ name: 'test', maxBytes: 0, sizeOf })).toThrow('maxBytes');
  });
});

describe('documentBytes and dropLocations', () => {
  const query = 'query Q($id: ID!) { a: product(id: $id) { id name price } b: me { id email } }';
  const locations = (document: DocumentNode) => {
    let count = 0;
    visit(document, { enter: (node) => void (node.loc && (count += 1)) });
    return count;
  };

  it('counts the token list a located document keeps, and nothing of it once locations are dropped', () => {
    const located = parse(query);
    const withLocations = documentBytes(located);
    const bare = documentBytes(parse(query, { noLocation: true }));
    // The tokens and locations are most of a small document's heap.
    expect(withLocations).toBeGreaterThan(2 * bare);
    dropLocations(located);
    expect(locations(located)).toBe(0);
    expect(documentBytes(located)).toBeLessThanOrEqual(bare + 40 * 8);
    expect(print(located)).toBe(print(parse(query)));
  });

  it('grows with the document', () => {
    const small = documentBytes(parse('{ me { id } }', { noLocation: true }));
    const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: me { id }`).join(' ');
    expect(documentBytes(parse(`{ ${aliases} }`, { noLocation: true }))).toBeGreaterThan(50 * small);
  });

  it('walks a deeply nested document iteratively', () => {
    const depth = 800;
    const document = parse(`${'{ a '.repeat(depth)}${'}'.repeat(depth)}`, { noLocation: true, maxTokens: 10 * depth });
    expect(documentBytes(document)).toBeGreaterThan(depth * 24);
    expect(() => dropLocations(document)).not.toThrow();
  });
});
