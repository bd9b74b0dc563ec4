/**
 * The batched connection loader (kit/connection-loader.ts) against the per-parent one it replaces, on the real
 * reviews subgraph and FerretDB: the same pages for many parents with different `first`/`after`, and one `find` per
 * batch where the per-parent loader sends one per parent.
 */
import { Types, type Model } from 'mongoose';
import { loadPages, type BatchedConnectionKey } from '../kit/connection-loader';
import { encodeCursor, paginate, type Page } from '../kit/pagination';
import { inTenant, startTestSubgraph, uniqueDbName, userCaller, type TestSubgraph } from '../kit/testing';
import { reviews } from './index';
import type { ReviewRecord } from './models';

const TENANT = 'perf20-pages';
const OTHER = 'perf20-other';
const caller = userCaller(TENANT, 'reader@perf20.test', ['customer']);

let batched: TestSubgraph;
let perParent: TestSubgraph;
/** Reviews per product, newest first, as the tenant sees them. */
const byProduct = new Map<string, Types.ObjectId[]>();
const products: string[] = [];
/** A product whose recent reviews outnumber everyone else's: it starves the others of a shared limit. */
let busy: string;

/** Deterministic pseudo-random numbers, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

beforeAll(async () => {
  const dbName = uniqueDbName('pages');
  batched = await startTestSubgraph(reviews, { dbName, connectionLoader: 'batched', countCommands: true });
  perParent = await startTestSubgraph(reviews, { dbName, connectionLoader: 'per-parent' });
  const counts = [0, 1, 2, 3, 4, 5, 7, 9, 12, 20, 35, 60];
  for (let i = 0; i < counts.length; i += 1) products.push(new Types.ObjectId().toHexString());
  busy = new Types.ObjectId().toHexString();
  // Interleaved in time: the product of each successive _id is drawn at random, weighted by its count.
  const pool = counts.flatMap((n, i) => Array.from({ length: n }, () => products[i]!));
  const next = random(20);
  for (let i = pool.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  // The busy product's 400 reviews are the newest of all.
  pool.push(...Array.from({ length: 400 }, () => busy));
  const Review = batched.connection.model<ReviewRecord>('Review');
  const docs = pool.map((productId, i) => ({
    _id: new Types.ObjectId(),
    productId: new Types.ObjectId(productId),
    authorId: new Types.ObjectId(),
    rating: 1 + (i % 5),
    body: `review ${i}`,
  }));
  await inTenant(TENANT, () => Review.insertMany(docs));
  // Another tenant reviews the same product ids, later than anyone: none of these may show.
  await inTenant(OTHER, () =>
    Review.insertMany(
      [...products, busy].map((productId) => ({
        productId: new Types.ObjectId(productId),
        authorId: new Types.ObjectId(),
        rating: 1,
        body: 'other tenant',
      })),
    ),
  );
  for (const doc of docs) {
    const key = doc.productId.toHexString();
    byProduct.set(key, [doc._id, ...(byProduct.get(key) ?? [])]);
  }
}, 60_000);

afterAll(async () => {
  await perParent?.stop();
  await batched?.close();
});

/** Keys of every kind: every product, several pages each, cursors of their own and of other products, bad ids. */
function mixedKeys(seed: number, parents: string[]): BatchedConnectionKey[] {
  const next = random(seed);
  const keys: BatchedConnectionKey[] = [];
  for (const id of parents) {
    for (let k = 0; k < 3; k += 1) {
      const own = byProduct.get(id) ?? [];
      const any = [...byProduct.values()].flat();
      const pick = next();
      const after =
        pick < 0.3
          ? null
          : pick < 0.8 && own.length > 0
            ? own[Math.floor(next() * own.length)]!
            : any[Math.floor(next() * any.length)]!;
      const page: Page = { first: 1 + Math.floor(next() * (next() < 0.2 ? 100 : 8)), after };
      keys.push({ id, page });
    }
  }
  keys.push(
    { id: 'malformed', page: { first: 3, after: null } },
    { id: new Types.ObjectId().toHexString(), page: { first: 3, after: null } },
  );
  return keys;
}

describe('the batched loader reads the pages paginate reads', () => {
  test.each([1, 2, 3, 4])('mixed parents, first and after (seed %i)', async (seed) => {
    const Review = batched.connection.model<ReviewRecord>('Review') as unknown as Model<ReviewRecord>;
    const keys = mixedKeys(seed, [...products, busy]);
    const got = await inTenant(TENANT, () =>
      loadPages(Review, keys, { parentPath: 'productId', order: 'newest-first' }),
    );
    const expected = await inTenant(TENANT, () =>
      Promise.all(
        keys.map((key) =>
          Types.ObjectId.isValid(key.id) && key.id.length === 24
            ? paginate(Review, { productId: new Types.ObjectId(key.id) }, key.page, 'newest-first')
            : { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
        ),
      ),
    );
    expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
    // And against the fixture itself, so that both cannot be wrong together.
    keys.forEach((key, i) => {
      const all = byProduct.get(key.id) ?? [];
      const start = key.page.after ? all.findIndex((id) => id.toHexString() < key.page.after!.toHexString()) : 0;
      const rest = start < 0 ? [] : all.slice(start);
      expect(got[i]!.edges.map((edge) => edge.cursor)).toEqual(rest.slice(0, key.page.first).map(encodeCursor));
      expect(got[i]!.pageInfo.hasNextPage).toBe(rest.length > key.page.first);
    });
  });
});

const PAGES = `query Entities($representations: [_Any!]!, $after: String) { _entities(representations: $representations) { ... on Product {
  id
  a: reviews(first: 2) { edges { cursor node { id rating author { id } } } pageInfo { hasNextPage endCursor } }
  b: reviews(first: 7, after: $after) { edges { cursor node { body product { id } } } pageInfo { hasNextPage endCursor } }
  c: reviews(first: 100) { edges { node { id } } pageInfo { hasNextPage } }
} } }`;

describe('through the subgraph, batched and per-parent answer alike', () => {
  test('many parents, three pages each, in one request', async () => {
    const representations = [...products, 'malformed', new Types.ObjectId().toHexString()].map((id) => ({
      __typename: 'Product',
      id,
    }));
    const after = encodeCursor(byProduct.get(products[10]!)![5]!);
    const variables = { representations, after };
    const [one, two] = await Promise.all([
      batched.request(PAGES, { as: caller, variables }),
      perParent.request(PAGES, { as: caller, variables }),
    ]);
    expect(one.body.errors).toBeUndefined();
    expect(one.body).toEqual(two.body);
    expect(one.text).not.toContain('other tenant');
    const entities = one.body.data?._entities as { c: { edges: unknown[] } }[];
    expect(entities.map((entity) => entity.c.edges.length)).toEqual([0, 1, 2, 3, 4, 5, 7, 9, 12, 20, 35, 60, 0, 0]);
  });

  test('one find per batch for the batched loader, one per page for the per-parent one', async () => {
    const representations = products.map((id) => ({ __typename: 'Product', id }));
    const commands = async (sg: TestSubgraph) => {
      const seen: string[] = [];
      const client = sg.connection.getClient();
      const listener = (event: { commandName: string }) => seen.push(event.commandName);
      client.on('commandStarted', listener);
      try {
        const res = await sg.request(PAGES, { as: caller, variables: { representations } });
        expect(res.body.errors).toBeUndefined();
      } finally {
        client.off('commandStarted', listener);
      }
      return seen;
    };
    expect(await commands(batched)).toEqual(['find']);
    expect(await commands(perParent)).toEqual(Array.from({ length: products.length * 3 }, () => 'find'));
  });

  test('a parent busier than all others: bounded rows per command, a few commands, the same pages', async () => {
    const representations = [busy, ...products].map((id) => ({ __typename: 'Product', id }));
    const finds: { limit: number }[] = [];
    const client = batched.connection.getClient();
    const listener = (event: { commandName: string; command: { limit?: number } }) => {
      if (event.commandName === 'find') finds.push({ limit: Number(event.command.limit) });
    };
    client.on('commandStarted', listener);
    let one;
    try {
      one = await batched.request(PAGES, { as: caller, variables: { representations } });
    } finally {
      client.off('commandStarted', listener);
    }
    const two = await perParent.request(PAGES, { as: caller, variables: { representations } });
    expect(one.body).toEqual(two.body);
    // 13 parents × (3 + 8 + 101) rows needed at most: never every child of every parent (the busy one has 400).
    const needed = 13 * (3 + 8 + 101);
    for (const find of finds) expect(find.limit).toBeLessThanOrEqual(2 * needed);
    // Three combined rounds, then at most one bounded find per page still open — far fewer than one per page.
    expect(finds.length).toBeGreaterThanOrEqual(1);
    expect(finds.length).toBeLessThan(13 * 3);
  });

  test('the selection decides the projection: a page of ratings does not read bodies', async () => {
    const query =
      'query E($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { reviews(first: 3) { edges { node { rating } } } } } }';
    const projections: unknown[] = [];
    const client = batched.connection.getClient();
    const listener = (event: { commandName: string; command: { projection?: unknown } }) => {
      if (event.commandName === 'find') projections.push(event.command.projection);
    };
    client.on('commandStarted', listener);
    try {
      const res = await batched.request(query, {
        as: caller,
        variables: { representations: [{ __typename: 'Product', id: products[5] }] },
      });
      expect(res.body.data?._entities).toEqual([
        { reviews: { edges: expect.arrayContaining([{ node: { rating: expect.any(Number) } }]) } },
      ]);
    } finally {
      client.off('commandStarted', listener);
    }
    expect(projections).toEqual([{ _id: 1, productId: 1, rating: 1 }]);
  });
});

test('with countCommands, GET /_bench/commands answers the commands sent so far, by name', async () => {
  const url = batched.url.replace('/graphql', '/_bench/commands');
  const before = ((await (await fetch(url)).json()) as { commands: Record<string, number> }).commands;
  const query =
    'query E($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { reviews(first: 100) { edges { cursor } } } } }';
  await batched.request(query, {
    as: caller,
    variables: { representations: products.map((id) => ({ __typename: 'Product', id })) },
  });
  const after = ((await (await fetch(url)).json()) as { commands: Record<string, number> }).commands;
  expect(after.find).toBe((before.find ?? 0) + 1);
  // Not served without the option.
  expect((await fetch(perParent.url.replace('/graphql', '/_bench/commands'))).status).toBe(404);
});
