/**
 * Deduplication of identical in-flight subgraph queries: while one fetch is on its way, a second fetch the subgraph
 * could not tell apart from it — except by request id — waits for the same answer instead of being sent. It saves
 * the data tier the repeated work (FerretDB's SQLite backend scans whole collections) when one caller asks the same
 * thing several times at once: a frontend rendering one query in several components, a partner's sync running in
 * parallel workers, a retry storm.
 *
 * What is shared, and with whom:
 * - Only queries, only while in flight: the answer is dropped when it arrives; nothing is cached after it.
 * - Only between fetches whose internal tokens would carry the same claims but the request id: the key holds the
 *   subgraph, the tenant and its placement (tier, epoch), the principal, the roles (sorted), the tenant's write
 *   generation (below) and the exact body (query, variables, operationName). Two tenants, two principals or two
 *   personas never share an answer. The key is a SHA-256 of all that, never the text: bounded memory per flight.
 * - Read-your-writes: a mutation sent through this gateway advances its tenant's write generation when it settles
 *   (answered, failed or timed out: it may have applied either way). A fetch after that has another key, so it never
 *   joins a flight that began before the write finished. (A write through another replica, or not through a gateway
 *   at all, is not seen: there a query may get an answer sent at most one subgraph timeout before its own request.)
 * - The in-flight map is bounded: when it is full, a fetch is sent without deduplicating.
 *
 * Deadlines: the shared fetch belongs to no request. It is started by the first caller (the leader) and bounded by
 * the subgraph timeout it was sent with; nothing any one caller does — leaving early, its own deadline passing —
 * cancels it. Each follower waits at most its own `waitMs` from when it joined, and when that passes first it fails
 * alone with a `TimeoutError`, as its own fetch would have; the others keep waiting. (The gateway gives every fetch
 * the same timeout, so a follower, which joins after the leader sent, is not the first to give up today; its own
 * timer keeps the rule should waiters ever have different deadlines.) A failed shared fetch (timeout, connection
 * error) is every waiter's failure, as the subgraph's answer to that query: a follower does not send the query
 * again, which on a sick subgraph would multiply the load the deduplication is there to spare.
 *
 * What is shared is the answer as read from the wire (status, content type, body text): immutable strings. Each
 * caller parses its own copy, because @apollo/gateway merges subgraph results into the response in place.
 *
 * The algorithm is pure: no I/O, no clock (timers only for the followers' deadlines); the data source
 * (data-source.ts) decides what is eligible and does the fetching.
 */
import { createHash } from 'node:crypto';

export interface SubgraphDedupeOptions {
  /** Flights in flight at most, over all subgraphs; when full, a fetch is sent without deduplicating. ≥ 1. */
  maxInFlight: number;
  /**
   * Tenants whose write generation is remembered. When full, every tenant's is forgotten at once and all keys change
   * (a moment with fewer deduplications, never a stale answer). ≥ 1.
   */
  maxTenants: number;
}

/**
 * A flight is a key and a promise (about 200 bytes): 10 000 is well above the fetches a replica has in flight (64
 * sockets per subgraph), so only a flood of distinct queries fills the map — and those are then simply sent. The
 * tenants far outnumber those a replica serves within one fetch timeout.
 */
export const DEFAULT_DEDUPE_LIMITS: SubgraphDedupeOptions = { maxInFlight: 10_000, maxTenants: 100_000 };

/** What identifies a fetch to the subgraph, but for its request id: what the key is made of. */
export interface DedupeKeyInput {
  subgraph: string;
  tenant: string;
  /** The tenant's placement, as the internal token carries it. */
  tier: string;
  epoch: number;
  principal: string;
  roles: readonly string[];
  /** The tenant's write generation (`SubgraphDedupe.generation`). */
  generation: number;
  /** The request body as sent: `JSON.stringify({ query, variables, operationName })`. */
  body: string;
}

export interface SubgraphDedupe<T> {
  /**
   * The answer of the flight in the air for `key`, waited on at most `waitMs` from now (this caller follows), or
   * `undefined` when there is none (this caller leads: `lead`, with no await in between).
   */
  follow(key: string, waitMs: number): Promise<T> | undefined;
  /**
   * Starts `fetch()` and registers it as the flight for `key` until it settles, so that the next callers follow it;
   * when the map is full it is started and not registered. Returns `fetch()`'s own promise.
   */
  lead(key: string, fetch: () => Promise<T>): Promise<T>;
  /** The tenant's write generation, for the key. */
  generation(tenant: string): number;
  /** A write of the tenant has settled: later keys of the tenant differ from every earlier one. */
  writeSettled(tenant: string): void;
  /** Flights in the air now. */
  size(): number;
}

export function createSubgraphDedupe<T>(options: SubgraphDedupeOptions): SubgraphDedupe<T> {
  if (!(options.maxInFlight >= 1) || !(options.maxTenants >= 1))
    throw new Error('maxInFlight and maxTenants must be at least 1');
  const flights = new Map<string, Promise<T>>();
  const generations = new Map<string, number>();
  // One counter for every tenant, so that a generation, once given, is never given again: what `generation` answers
  // for a forgotten tenant (`floor`) is at least every generation ever handed out, hence never an earlier one.
  let counter = 0;
  let floor = 0;

  return {
    follow(key, waitMs) {
      const flight = flights.get(key);
      return flight && withDeadline(flight, waitMs);
    },
    lead(key, fetch) {
      const answer = fetch();
      if (flights.size < options.maxInFlight && !flights.has(key)) {
        flights.set(key, answer);
        const done = () => {
          if (flights.get(key) === answer) flights.delete(key);
        };
        // The flight is dropped once settled; a rejection is each caller's to handle, not this bookkeeping's.
        answer.then(done, done);
      }
      return answer;
    },
    generation: (tenant) => generations.get(tenant) ?? floor,
    writeSettled(tenant) {
      counter += 1;
      if (!generations.has(tenant) && generations.size >= options.maxTenants) {
        generations.clear();
        floor = counter;
      }
      generations.set(tenant, counter);
    },
    size: () => flights.size,
  };
}

/**
 * The key of a fetch: a SHA-256 (base64) over every field, each length-prefixed so that no two inputs run together
 * into the same text (a tenant `a` with principal `bc` and a tenant `ab` with principal `c` differ). Roles are
 * sorted: a token's roles are a set.
 */
export function dedupeKey(input: DedupeKeyInput): string {
  const hash = createHash('sha256');
  const field = (value: string) => hash.update(`${value.length}:`).update(value);
  field(input.subgraph);
  field(input.tenant);
  field(input.tier);
  field(String(input.epoch));
  field(input.principal);
  const roles = [...input.roles].sort();
  field(String(roles.length));
  for (const role of roles) field(role);
  field(String(input.generation));
  field(input.body);
  return hash.digest('base64');
}

/**
 * What a subgraph query text is: the planner writes `query Name__subgraph__0(…){…}`, `mutation …` or `{…}`.
 * Anything it cannot read as a query (a subscription, a comment first, several operations) is `other`: never
 * deduplicated, and not counted as a write either.
 */
export function operationKind(query: string): 'query' | 'mutation' | 'other' {
  const match = LEADING_KEYWORD.exec(query);
  if (!match) return 'other';
  if (match[1] === '{' || match[1] === 'query') return 'query';
  return match[1] === 'mutation' ? 'mutation' : 'other';
}

const LEADING_KEYWORD = /^\s*(\{|query\b|mutation\b|subscription\b)/;

/** A follower's wait on the flight: the flight's outcome, or its own `TimeoutError` after `waitMs`. */
function withDeadline<T>(flight: Promise<T>, waitMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      // As the fetcher (fetcher.ts) reports its own deadline: the data source maps the name to SUBGRAPH_TIMEOUT.
      reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, waitMs);
    flight.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
