import { createSubgraphDedupe, dedupeKey, operationKind, type DedupeKeyInput } from './dedupe';

const BASE: DedupeKeyInput = {
  subgraph: 'products',
  tenant: 'acme',
  tier: 'pooled',
  epoch: 1,
  principal: 'user-1',
  roles: ['customer', 'staff'],
  generation: 0,
  body: JSON.stringify({ query: '{products{id}}', variables: {}, operationName: null }),
};

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** How a promise ended, without throwing. */
const outcome = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: error as { name?: string } }),
  );

describe('dedupeKey', () => {
  it('is the same for the same fetch and a hash, not the text', () => {
    const key = dedupeKey(BASE);
    expect(dedupeKey({ ...BASE })).toBe(key);
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(key).not.toContain('acme');
  });

  it('does not depend on the order of the roles', () => {
    expect(dedupeKey({ ...BASE, roles: ['staff', 'customer'] })).toBe(dedupeKey(BASE));
  });

  it.each<[string, Partial<DedupeKeyInput>]>([
    ['subgraph', { subgraph: 'inventory' }],
    ['tenant', { tenant: 'globex' }],
    ['tier', { tier: 'silo' }],
    ['placement epoch', { epoch: 2 }],
    ['principal', { principal: 'user-2' }],
    ['roles', { roles: ['customer'] }],
    ['role set with one more', { roles: ['customer', 'staff', 'admin'] }],
    ['write generation', { generation: 1 }],
    ['query', { body: JSON.stringify({ query: '{products{name}}', variables: {}, operationName: null }) }],
    ['variables', { body: JSON.stringify({ query: '{products{id}}', variables: { a: 1 }, operationName: null }) }],
    ['operation name', { body: JSON.stringify({ query: '{products{id}}', variables: {}, operationName: 'A' }) }],
  ])('differs when the %s differs', (_, change) => {
    expect(dedupeKey({ ...BASE, ...change })).not.toBe(dedupeKey(BASE));
  });

  it('keeps fields apart: no two inputs run together into one text', () => {
    expect(dedupeKey({ ...BASE, tenant: 'a', principal: 'bc' })).not.toBe(
      dedupeKey({ ...BASE, tenant: 'ab', principal: 'c' }),
    );
    expect(dedupeKey({ ...BASE, roles: ['a,b'] })).not.toBe(dedupeKey({ ...BASE, roles: ['a', 'b'] }));
  });
});

describe('operationKind', () => {
  it.each([
    ['query Q__products__0{products{id}}', 'query'],
    ['{products{id}}', 'query'],
    ['  \n query($representations:[_Any!]!){_entities(representations:$representations){__typename}}', 'query'],
    ['mutation M__products__0{createProduct(input:{}){id}}', 'mutation'],
    ['subscription S{ticks}', 'other'],
    ['# comment\nquery Q{a}', 'other'],
    ['queryX{a}', 'other'],
    ['', 'other'],
  ])('%j is %s', (query, kind) => {
    expect(operationKind(query)).toBe(kind);
  });
});

describe('createSubgraphDedupe', () => {
  const limits = { maxInFlight: 10, maxTenants: 10 };

  it('lets followers share the flight in the air, and forgets it once settled', async () => {
    const flights = createSubgraphDedupe<string>(limits);
    const fetch = jest.fn(() => Promise.resolve('answer'));
    expect(flights.follow('k', 1_000)).toBeUndefined();
    const leader = flights.lead('k', fetch);
    const followers = [flights.follow('k', 1_000), flights.follow('k', 1_000)];
    expect(followers.every((f) => f !== undefined)).toBe(true);
    expect(flights.size()).toBe(1);
    await expect(Promise.all([leader, ...followers])).resolves.toEqual(['answer', 'answer', 'answer']);
    expect(fetch).toHaveBeenCalledTimes(1);
    // In flight only: nothing is kept after the answer.
    expect(flights.size()).toBe(0);
    expect(flights.follow('k', 1_000)).toBeUndefined();
  });

  it('never joins flights of other keys', () => {
    const flights = createSubgraphDedupe<string>(limits);
    void flights.lead('a', () => new Promise<string>(() => undefined));
    expect(flights.follow('b', 1_000)).toBeUndefined();
  });

  it('gives every waiter the failure of a failed flight, and forgets the flight', async () => {
    const flights = createSubgraphDedupe<string>(limits);
    const shared = deferred<string>();
    const leader = outcome(flights.lead('k', () => shared.promise));
    const follower = outcome(flights.follow('k', 1_000)!);
    shared.reject(new Error('ECONNREFUSED'));
    expect(await leader).toEqual({ error: new Error('ECONNREFUSED') });
    expect(await follower).toEqual({ error: new Error('ECONNREFUSED') });
    expect(flights.size()).toBe(0);
  });

  it('times out a follower alone at its own deadline; the flight goes on for the others', async () => {
    jest.useFakeTimers();
    try {
      const flights = createSubgraphDedupe<string>(limits);
      const shared = deferred<string>();
      const leader = outcome(flights.lead('k', () => shared.promise));
      const short = outcome(flights.follow('k', 50)!);
      const long = outcome(flights.follow('k', 5_000)!);
      jest.advanceTimersByTime(60);
      const timedOut = await short;
      expect(timedOut).toEqual({ error: expect.objectContaining({ name: 'TimeoutError' }) });
      // Still in the air for the leader and the patient follower, and for whoever comes next.
      expect(flights.size()).toBe(1);
      const late = outcome(flights.follow('k', 5_000)!);
      shared.resolve('answer');
      expect(await leader).toEqual({ value: 'answer' });
      expect(await long).toEqual({ value: 'answer' });
      expect(await late).toEqual({ value: 'answer' });
    } finally {
      jest.useRealTimers();
    }
  });

  it('does not let a leader that gave up cancel the flight', async () => {
    const flights = createSubgraphDedupe<string>(limits);
    const shared = deferred<string>();
    // The leader's request goes away: nothing it holds can stop the shared fetch.
    void flights.lead('k', () => shared.promise).catch(() => undefined);
    const follower = flights.follow('k', 1_000)!;
    shared.resolve('answer');
    await expect(follower).resolves.toBe('answer');
  });

  it('sends without deduplicating when the map is full', async () => {
    const flights = createSubgraphDedupe<string>({ maxInFlight: 2, maxTenants: 10 });
    const pending = () => new Promise<string>(() => undefined);
    void flights.lead('a', pending);
    void flights.lead('b', pending);
    const fetch = jest.fn(() => Promise.resolve('c'));
    await expect(flights.lead('c', fetch)).resolves.toBe('c');
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(flights.size()).toBe(2);
    expect(flights.follow('c', 1_000)).toBeUndefined();
  });

  it('keeps the first flight of a key when a second caller leads anyway', async () => {
    const flights = createSubgraphDedupe<string>(limits);
    const first = deferred<string>();
    void flights.lead('k', () => first.promise);
    await expect(flights.lead('k', () => Promise.resolve('second'))).resolves.toBe('second');
    const follower = flights.follow('k', 1_000)!;
    first.resolve('first');
    await expect(follower).resolves.toBe('first');
  });

  it('gives a tenant a new write generation when a write settles, never an earlier one', () => {
    const flights = createSubgraphDedupe<string>({ maxInFlight: 10, maxTenants: 2 });
    const acme0 = flights.generation('acme');
    const globex0 = flights.generation('globex');
    flights.writeSettled('acme');
    const acme1 = flights.generation('acme');
    expect(acme1).not.toBe(acme0);
    expect(flights.generation('globex')).toBe(globex0);
    flights.writeSettled('globex');
    // A third tenant overflows the memory: every generation is forgotten, and none goes back to an earlier value.
    const seen = { acme: [acme0, acme1], globex: [globex0, flights.generation('globex')] };
    flights.writeSettled('initech');
    expect(flights.generation('acme')).toBeGreaterThanOrEqual(Math.max(...seen.acme));
    expect(flights.generation('globex')).toBeGreaterThanOrEqual(Math.max(...seen.globex));
    const initech = flights.generation('initech');
    flights.writeSettled('initech');
    expect(flights.generation('initech')).toBeGreaterThan(initech);
  });

  it('refuses limits below one', () => {
    expect(() => createSubgraphDedupe({ maxInFlight: 0, maxTenants: 1 })).toThrow(/at least 1/);
  });
});
