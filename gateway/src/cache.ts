/**
 * Caches bounded by what their entries hold, not by how many there are. A count bound says nothing about memory:
 * 1,000 entries of a client-chosen size are as large as the client makes them, and a flood of distinct documents
 * filled 182 MB of a 192 MB heap that way. Every per-document cache of the gateway is one of these, with a size
 * estimate of what an entry keeps alive (see `documentBytes`), and reports its size (`stats`) for tests and the flood
 * benchmark.
 *
 * The estimates are approximations of V8's heap (pointers of 8 bytes, object headers, one-byte strings), calibrated
 * against heap measurements (bench/flood.ts, bench/heap-summary.ts); they err on the large side.
 */
import { LRUCache } from 'lru-cache';
import type { ASTNode, DocumentNode, Location } from 'graphql';

export interface CacheStats {
  readonly name: string;
  readonly entries: number;
  /** Estimated bytes the entries keep alive, keys included. */
  readonly bytes: number;
  readonly maxBytes: number;
  /** Lookups that found an entry, and that did not, since the cache was made (for metrics). */
  readonly hits: number;
  readonly misses: number;
}

export interface ByteBoundedCacheOptions<V> {
  /** For reports and logs: `documents`, `authz`, `cost`, `query-plans`. */
  readonly name: string;
  /** The bound; least recently used entries go first. An entry larger than a quarter of it is not kept. */
  readonly maxBytes: number;
  /** A bound on the number of entries as well, where one is wanted besides the bytes. */
  readonly maxEntries?: number;
  /** Estimated bytes `value` keeps alive (the key is added). Called on every `set`. */
  sizeOf(value: V): number;
}

export interface ByteBoundedCache<V> {
  get(key: string): V | undefined;
  /**
   * Stores (or re-stores) an entry, measuring it again: an entry that grew since (more analyses of one document) is
   * set again to count what it holds now.
   */
  set(key: string, value: V): void;
  delete(key: string): void;
  clear(): void;
  stats(): CacheStats;
}

/** Bytes of a Map/LRU slot and the entry's bookkeeping, beyond its key and value. */
const ENTRY_OVERHEAD_BYTES = 96;

export function createByteBoundedCache<V extends NonNullable<unknown>>(
  options: ByteBoundedCacheOptions<V>,
): ByteBoundedCache<V> {
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1)
    throw new Error(`cache ${options.name}: maxBytes must be a positive integer`);
  const cache = new LRUCache<string, V>({
    ...(options.maxEntries === undefined ? {} : { max: options.maxEntries }),
    maxSize: options.maxBytes,
    // One entry may not take over the cache: a huge document would evict everything else for itself.
    maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 4)),
    sizeCalculation: (value, key) =>
      Math.max(1, Math.ceil(options.sizeOf(value)) + stringBytes(key) + ENTRY_OVERHEAD_BYTES),
  });
  return countingCache(cache, () => ({
    name: options.name,
    entries: cache.size,
    bytes: cache.calculatedSize,
    maxBytes: options.maxBytes,
  }));
}

/** The cache interface over an lru-cache, counting hits and misses for the metrics. */
function countingCache<V extends NonNullable<unknown>>(
  cache: LRUCache<string, V>,
  sizes: () => Omit<CacheStats, 'hits' | 'misses'>,
): ByteBoundedCache<V> {
  let hits = 0;
  let misses = 0;
  return {
    get(key) {
      const value = cache.get(key);
      if (value === undefined) misses += 1;
      else hits += 1;
      return value;
    },
    set(key, value) {
      cache.set(key, value);
    },
    delete(key) {
      cache.delete(key);
    },
    clear() {
      cache.clear();
    },
    stats: () => ({ ...sizes(), hits, misses }),
  };
}

/** A string's bytes on the heap: header and one byte a character (two when it is not Latin-1: counted as two). */
export function stringBytes(value: string): number {
  return 16 + value.length * 2;
}

// What a graphql-js AST costs on V8's heap, measured with parse() of the flood's documents (node 20, 8-byte pointers).
const NODE_BYTES = 24;
const PROPERTY_BYTES = 8;
const ARRAY_BYTES = 32;
/** A `Location` (with its three fields) when the document was parsed with locations. */
const LOCATION_BYTES = 56;
/** A `Token`: kind, start, end, line, column, value, prev, next. */
const TOKEN_BYTES = 88;

/**
 * Estimated heap bytes of a parsed document: its nodes, arrays and strings, and — when it still has locations — its
 * `Location`s and the lexer's whole token list, which every `loc` keeps alive (about 60 % of a small document's
 * heap; `dropLocations` releases them). Iterative: a document nested as deep as the parser allows cannot overflow
 * the stack here.
 */
export function documentBytes(document: DocumentNode): number {
  let bytes = 0;
  let tokens: Location | undefined;
  const stack: unknown[] = [document];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') bytes += stringBytes(value);
    else if (Array.isArray(value)) {
      bytes += ARRAY_BYTES + value.length * PROPERTY_BYTES;
      for (const item of value) stack.push(item);
    } else if (typeof value === 'object' && value !== null) {
      const node = value as Record<string, unknown>;
      for (const key in node) {
        bytes += PROPERTY_BYTES;
        if (key === 'loc') {
          if (node.loc) {
            bytes += LOCATION_BYTES;
            tokens ??= node.loc as Location;
          }
        } else stack.push(node[key]);
      }
      bytes += NODE_BYTES;
    }
  }
  // Every location points into the same doubly linked token list: count it once, from the document's first token.
  if (tokens) {
    for (let token: Location['startToken'] | null = tokens.startToken; token; token = token.next) {
      bytes += TOKEN_BYTES + (token.value === undefined ? 0 : stringBytes(token.value));
    }
  }
  return bytes;
}

/**
 * Releases a validated document's locations (and with them the token list) by setting every `loc` to undefined —
 * the property stays, so the nodes keep their shape. Validation has reported its errors with locations by then;
 * what is cached afterwards is 2–3 times smaller.
 */
export function dropLocations(document: DocumentNode): void {
  const stack: unknown[] = [document];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'object' && item !== null) stack.push(item);
    } else if (typeof value === 'object' && value !== null) {
      const node = value as { loc?: unknown } & Record<string, unknown>;
      if (node.loc !== undefined) (node as { loc?: ASTNode['loc'] }).loc = undefined;
      for (const key in node) {
        const child = node[key];
        if (key !== 'loc' && typeof child === 'object' && child !== null) stack.push(child);
      }
    }
  }
}

/**
 * A small count-bounded LRU for caches nested inside one entry of a byte-bounded cache (the authorization gate's
 * analyses and decision plans of one document): the enclosing cache measures what they hold each time they grow, so
 * a count bound is enough here. A Map, not an `LRUCache`: there is one of these per cached document, and an
 * `LRUCache` instance alone takes about 1.9 KB of heap (its typed arrays; measured with node 20) against 0.2 KB for
 * a Map — as much as a small cached document itself.
 */
export class NestedLru<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    // Maps iterate in insertion order: re-inserting makes the first key the least recently used.
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  entries(): IterableIterator<[string, V]> {
    return this.map.entries();
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
}

export interface CountBoundedCacheOptions {
  /** For reports and logs. */
  readonly name: string;
  /** Least recently used entries go first beyond this many. */
  readonly maxEntries: number;
}

/**
 * A cache bounded by its number of entries, for entries whose size the gateway decides, not a client (a visible
 * schema per set of decisions, a verified token): same `ByteBoundedCache` interface, `bytes` reported as 0.
 */
export function createCountBoundedCache<V extends NonNullable<unknown>>(
  options: CountBoundedCacheOptions,
): ByteBoundedCache<V> {
  if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1)
    throw new Error(`cache ${options.name}: maxEntries must be a positive integer`);
  const cache = new LRUCache<string, V>({ max: options.maxEntries });
  return countingCache(cache, () => ({ name: options.name, entries: cache.size, bytes: 0, maxBytes: 0 }));
}
