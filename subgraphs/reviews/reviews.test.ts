import { Types } from 'mongoose';
import { userIdFor } from '../../common/ids';
import {
  countCommands,
  entitiesQuery,
  startTestSubgraph,
  userCaller,
  type Caller,
  type TestSubgraph,
} from '../kit/testing';
import { reviews } from './index';

let sg: TestSubgraph;
const ann = userCaller('acme', 'ann@acme.test', ['customer']);
const bob = userCaller('acme', 'bob@acme.test', ['customer']);
const acmeAdmin = userCaller('acme', 'admin@acme.test', ['admin']);
const globexAdmin = userCaller('globex', 'admin@globex.test', ['admin']);

const ADD =
  'mutation Add($input: AddReviewInput!) { addReview(input: $input) { id body rating author { id } product { id } } }';
const DELETE = 'mutation Delete($id: ID!) { deleteReview(id: $id) }';
const PRODUCT_REVIEWS = entitiesQuery(
  '... on Product { id reviews(first: $first, after: $after) { edges { node { body } } pageInfo { hasNextPage endCursor } } }',
).replace('($representations: [_Any!]!)', '($representations: [_Any!]!, $first: Int!, $after: String)');

const productA = new Types.ObjectId().toHexString();
const productB = new Types.ObjectId().toHexString();

async function add(as: Caller, productId: string, body: string, rating = 4): Promise<string> {
  const res = await sg.request(ADD, { as, variables: { input: { productId, body, rating } } });
  expect(res.body.errors).toBeUndefined();
  return (res.body.data?.addReview as { id: string }).id;
}

type Page = {
  id: string;
  reviews: { edges: { node: { body: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};

async function reviewPage(as: Caller, ids: string[], first: number, after: string | null = null): Promise<Page[]> {
  const representations = ids.map((id) => ({ __typename: 'Product', id }));
  const res = await sg.request(PRODUCT_REVIEWS, { as, variables: { representations, first, after } });
  expect(res.body.errors).toBeUndefined();
  return res.body.data?._entities as Page[];
}

beforeAll(async () => {
  sg = await startTestSubgraph(reviews);
  for (const body of ['first', 'second', 'third', 'fourth', 'fifth']) await add(ann, productA, `A ${body}`);
  await add(bob, productB, 'B by bob');
  await add(globexAdmin, productA, 'globex review of the same product id');
});

afterAll(async () => {
  await sg?.close();
});

describe('addReview', () => {
  test('the author is the caller and the references carry the ids', async () => {
    const res = await sg.request(ADD, {
      as: bob,
      variables: { input: { productId: productA, body: '  Great  ', rating: 5 } },
    });
    expect(res.body.data?.addReview).toMatchObject({
      body: 'Great',
      rating: 5,
      author: { id: userIdFor('acme', 'bob@acme.test') },
      product: { id: productA },
    });
    await sg.request(DELETE, { as: bob, variables: { id: (res.body.data?.addReview as { id: string }).id } });
  });

  test.each([
    ['a rating of 0', { productId: productA, body: 'x', rating: 0 }, 'BAD_USER_INPUT'],
    ['a rating of 6', { productId: productA, body: 'x', rating: 6 }, 'BAD_USER_INPUT'],
    ['an empty body', { productId: productA, body: '   ', rating: 3 }, 'BAD_USER_INPUT'],
    ['a body over 2000 characters', { productId: productA, body: 'x'.repeat(2001), rating: 3 }, 'BAD_USER_INPUT'],
    ['a malformed product id', { productId: 'nope', body: 'x', rating: 3 }, 'NOT_FOUND'],
  ])('%s is refused', async (_label, input, code) => {
    const res = await sg.request(ADD, { as: ann, variables: { input } });
    expect(res.body.errors?.[0]?.extensions?.code).toBe(code);
  });

  test('an API key, which is no user, cannot write reviews', async () => {
    const res = await sg.request(ADD, {
      as: { tenant: 'acme', principal: 'key_abc', roles: ['developer'] },
      variables: { input: { productId: productA, body: 'x', rating: 3 } },
    });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('Product.reviews and User.reviews', () => {
  test('page newest first within the tenant', async () => {
    const [first] = await reviewPage(ann, [productA], 2);
    expect(first!.reviews.edges.map((edge) => edge.node.body)).toEqual(['A fifth', 'A fourth']);
    expect(first!.reviews.pageInfo.hasNextPage).toBe(true);
    const [second] = await reviewPage(ann, [productA], 2, first!.reviews.pageInfo.endCursor);
    expect(second!.reviews.edges.map((edge) => edge.node.body)).toEqual(['A third', 'A second']);
    const [last] = await reviewPage(ann, [productA], 2, second!.reviews.pageInfo.endCursor);
    expect(last!.reviews).toMatchObject({ edges: [{ node: { body: 'A first' } }], pageInfo: { hasNextPage: false } });
    const [globex] = await reviewPage(globexAdmin, [productA], 10);
    expect(globex!.reviews.edges.map((edge) => edge.node.body)).toEqual(['globex review of the same product id']);
  });

  test('several products in one _entities call, each paged on its own', async () => {
    const pages = await reviewPage(ann, [productA, productB, new Types.ObjectId().toHexString(), 'malformed'], 1);
    expect(pages.map((page) => page.reviews.edges.map((edge) => edge.node.body))).toEqual([
      ['A fifth'],
      ['B by bob'],
      [],
      [],
    ]);
    expect(pages.map((page) => page.reviews.pageInfo.hasNextPage)).toEqual([true, false, false, false]);
  });

  test('User.reviews lists the author’s reviews', async () => {
    const query = entitiesQuery('... on User { reviews(first: 10) { edges { node { body product { id } } } } }');
    const res = await sg.request(query, {
      as: ann,
      variables: { representations: [{ __typename: 'User', id: bob.principal }] },
    });
    expect(res.body.data?._entities).toEqual([
      { reviews: { edges: [{ node: { body: 'B by bob', product: { id: productB } } }] } },
    ]);
  });

  test('first and after are validated', async () => {
    const representations = [{ __typename: 'Product', id: productA }];
    for (const variables of [{ first: 0 }, { first: 101 }, { first: 1, after: 'not-a-cursor' }]) {
      const res = await sg.request(PRODUCT_REVIEWS, { as: ann, variables: { representations, ...variables } });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  test('ten review references cost one find', async () => {
    const listed = await sg.request(entitiesQuery('... on Product { reviews(first: 10) { edges { node { id } } } }'), {
      as: ann,
      variables: { representations: [{ __typename: 'Product', id: productA }] },
    });
    const [product] = listed.body.data?._entities as { reviews: { edges: { node: { id: string } }[] } }[];
    const existing = product!.reviews.edges.map((edge) => edge.node.id);
    expect(existing).toHaveLength(5);
    const missing = Array.from({ length: 10 - existing.length }, () => new Types.ObjectId().toHexString());
    const representations = [...existing, ...missing].map((id) => ({ __typename: 'Review', id }));
    const { result, commands } = await countCommands(sg, () =>
      sg.request(entitiesQuery('... on Review { id rating }'), { as: ann, variables: { representations } }),
    );
    expect((result.body.data?._entities as unknown[]).filter(Boolean)).toHaveLength(existing.length);
    expect(commands).toEqual(['find']);
  });
});

describe('deleteReview', () => {
  test('the author may delete their review', async () => {
    const id = await add(bob, productB, 'to be deleted by bob');
    expect((await sg.request(DELETE, { as: bob, variables: { id } })).body).toEqual({ data: { deleteReview: id } });
  });

  test('another user’s review, another tenant’s review and a missing one are all NOT_FOUND and stay', async () => {
    const annReview = await add(ann, productB, 'ann keeps this');
    const globexReview = await add(globexAdmin, productB, 'globex keeps this');
    for (const [as, id] of [
      [bob, annReview],
      [acmeAdmin, globexReview],
      [bob, new Types.ObjectId().toHexString()],
      [bob, 'malformed'],
    ] as [Caller, string][]) {
      const res = await sg.request(DELETE, { as, variables: { id } });
      expect(res.body).toEqual({
        data: { deleteReview: null },
        errors: [expect.objectContaining({ message: 'Review not found', extensions: { code: 'NOT_FOUND' } })],
      });
    }
    const remaining = await sg.connection
      .db!.collection('reviews')
      .countDocuments({ _id: { $in: [new Types.ObjectId(annReview), new Types.ObjectId(globexReview)] } });
    expect(remaining).toBe(2);
  });

  test('a tenant admin may delete anyone’s review in the tenant', async () => {
    const id = await add(ann, productB, 'moderated away');
    expect((await sg.request(DELETE, { as: acmeAdmin, variables: { id } })).body).toEqual({
      data: { deleteReview: id },
    });
  });
});
