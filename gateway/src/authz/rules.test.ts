import { extendSchema, parse } from 'graphql';
import type { Caller } from '../request';
import { AuthorizationGate } from './gate';
import { introspectionRule, MAX_REVIEW_LENGTH, ruleTree } from './rules';
import { apiSchema, gateRequest, partner, person } from './test-fixtures';

const gate = new AuthorizationGate({ schema: apiSchema, rules: ruleTree, introspectionRule });

/** `Type.field (reason)` of every denial, sorted. */
async function denied(query: string, caller: Caller, variables?: Record<string, unknown>): Promise<string[]> {
  const { denials } = await gate.evaluate(gateRequest(query, caller, { variables }));
  return denials.map((d) => `${d.typeName}.${d.field.fieldName} (${d.reason})`).sort();
}

describe('coverage of the API schema', () => {
  it('has a rule for every field of every object type', () => {
    expect(gate.uncoveredFields).toEqual([]);
  });

  it('notices a field added to the schema without a rule, and the fallback denies it', async () => {
    const extended = extendSchema(apiSchema, parse('extend type Product { marginPercent: Int }'));
    const extendedGate = new AuthorizationGate({ schema: extended, rules: ruleTree, introspectionRule });
    expect(extendedGate.uncoveredFields).toEqual(['Product.marginPercent']);
    const { denials } = await extendedGate.evaluate(
      gateRequest('{ product(id: "1") { name marginPercent } }', person('admin')),
    );
    expect(denials.map((d) => `${d.typeName}.${d.field.fieldName} ${d.rule}`)).toEqual(['Product.marginPercent deny']);
  });

  it('notices a new root field and a new type too', () => {
    const extended = extendSchema(
      apiSchema,
      parse(`
        extend type Mutation { deleteProduct(id: ID!): ID }
        type Coupon { code: String }
        extend type Query { coupon: Coupon }
      `),
    );
    expect(new AuthorizationGate({ schema: extended, rules: ruleTree, introspectionRule }).uncoveredFields).toEqual([
      'Coupon.code',
      'Mutation.deleteProduct',
      'Query.coupon',
    ]);
  });
});

describe('reads', () => {
  const catalog = `{ products(first: 5) {
    edges { node { id sku name price weight inStock quantity shippingEstimate } }
    pageInfo { hasNextPage endCursor }
  } }`;
  const reviews = `{ product(id: "1") { reviews(first: 5) {
    edges { cursor node { id body rating author { id name } product { id } } }
  } } }`;

  it.each(['admin', 'staff', 'customer', 'developer'] as const)(
    'lets role %s read products and reviews',
    async (role) => {
      expect(await denied(catalog, person(role))).toEqual([]);
      expect(await denied(reviews, person(role))).toEqual([]);
    },
  );

  it('lets a token without roles read nothing', async () => {
    expect(await denied('{ product(id: "1") { name } }', person())).toEqual([
      'Product.name (forbidden)',
      'Query.product (forbidden)',
    ]);
  });

  it('gives a partner exactly what its scopes name', async () => {
    expect(await denied('{ product(id: "1") { name } }', partner('catalog:read'))).toEqual([]);
    expect(await denied('{ product(id: "1") { name quantity } }', partner('catalog:read'))).toEqual([
      'Product.quantity (forbidden)',
    ]);
    expect(await denied('{ product(id: "1") { name quantity } }', partner('catalog:read', 'inventory:read'))).toEqual(
      [],
    );
    expect(await denied(reviews, partner('catalog:read'))).toEqual([
      'Product.reviews (forbidden)',
      'Review.author (forbidden)',
      'Review.body (forbidden)',
      'Review.id (forbidden)',
      'Review.product (forbidden)',
      'Review.rating (forbidden)',
      'User.id (forbidden)',
      'User.name (forbidden)',
    ]);
    expect(await denied(reviews, partner('catalog:read', 'reviews:read'))).toEqual([]);
  });

  it('never gives scopes to a JWT caller, whatever its token carries', async () => {
    const jwtWithScopes = { ...person(), scopes: ['catalog:read'] } as Caller;
    expect(await denied('{ product(id: "1") { name } }', jwtWithScopes)).toEqual([
      'Product.name (forbidden)',
      'Query.product (forbidden)',
    ]);
  });

  it('lets every person, not a partner, ask for `me`', async () => {
    for (const role of ['admin', 'staff', 'customer', 'developer'] as const) {
      expect(await denied('{ me { id name email roles } }', person(role))).toEqual([]);
    }
    expect(await denied('{ me { id } }', partner('users:read'))).toEqual(['Query.me (forbidden)']);
  });

  it('lists users for admins, staff and the users:read scope only', async () => {
    const query = '{ users(first: 10) { edges { node { id name } } } user(id: "u1") { name } }';
    expect(await denied(query, person('admin'))).toEqual([]);
    expect(await denied(query, person('staff'))).toEqual([]);
    expect(await denied(query, partner('users:read'))).toEqual([]);
    expect(await denied(query, person('customer'))).toEqual(['Query.user (forbidden)', 'Query.users (forbidden)']);
    expect(await denied(query, person('developer'))).toEqual(['Query.user (forbidden)', 'Query.users (forbidden)']);
  });

  it('keeps e-mail addresses and roles from partners; the accounts subgraph decides per user for people', async () => {
    const query = '{ users(first: 10) { edges { node { email roles } } } }';
    expect(await denied(query, partner('users:read'))).toEqual(['User.email (forbidden)', 'User.roles (forbidden)']);
    expect(await denied(query, person('staff'))).toEqual([]);
  });
});

describe('mutations', () => {
  const invite = 'mutation { inviteUser(input: { name: "Bo", email: "bo@acme.test", roles: [CUSTOMER] }) { id } }';
  const create = 'mutation { createProduct(input: { sku: "S", name: "N", price: 1, weight: 1 }) { id } }';
  const update = 'mutation { updateProduct(id: "1", input: { price: 2 }) { id } }';
  const adjust = 'mutation { adjustStock(productId: "1", delta: -1) { id } }';
  const review = 'mutation { addReview(input: { productId: "1", rating: 5, body: "Great" }) { id } }';
  const remove = 'mutation { deleteReview(id: "r1") }';

  it.each([
    ['inviteUser', invite, ['admin'], ['staff', 'customer', 'developer'], [], ['users:read']],
    ['createProduct', create, ['admin', 'staff'], ['customer', 'developer'], ['catalog:write'], ['catalog:read']],
    ['updateProduct', update, ['admin', 'staff'], ['customer', 'developer'], ['catalog:write'], ['inventory:write']],
    ['adjustStock', adjust, ['admin', 'staff'], ['customer', 'developer'], ['inventory:write'], ['catalog:write']],
    ['addReview', review, ['admin', 'staff', 'customer'], ['developer'], ['reviews:write'], ['reviews:read']],
    ['deleteReview', remove, ['admin', 'staff', 'customer'], ['developer'], [], ['reviews:write']],
  ] as const)('%s', async (field, query, allowedRoles, deniedRoles, allowedScopes, deniedScopes) => {
    // Selecting `id` of the result needs read rights too; a partner here only has the write scope.
    const rootOnly = async (caller: Caller) => (await denied(query, caller)).filter((d) => d.startsWith('Mutation.'));
    for (const role of allowedRoles) expect(await rootOnly(person(role))).toEqual([]);
    for (const role of deniedRoles) expect(await rootOnly(person(role))).toEqual([`Mutation.${field} (forbidden)`]);
    for (const scope of allowedScopes) expect(await rootOnly(partner(scope))).toEqual([]);
    for (const scope of deniedScopes) expect(await rootOnly(partner(scope))).toEqual([`Mutation.${field} (forbidden)`]);
  });

  it('lets a developer who is also a customer post a review', async () => {
    expect(await denied(review, person('developer', 'customer'))).toEqual([]);
  });
});

describe('input rules', () => {
  const addReview = 'mutation ($input: AddReviewInput!) { addReview(input: $input) { id } }';
  const reviewInput = (rating: number, body: string) => ({ input: { productId: '1', rating, body } });

  it('refuses a rating outside 1–5 and an empty or overlong body', async () => {
    const customer = person('customer');
    expect(await denied(addReview, customer, reviewInput(5, 'ok'))).toEqual([]);
    expect(await denied(addReview, customer, reviewInput(1, 'ok'))).toEqual([]);
    const tooLong = 'x'.repeat(MAX_REVIEW_LENGTH + 1);
    for (const input of [reviewInput(0, 'ok'), reviewInput(6, 'ok'), reviewInput(5, '   '), reviewInput(5, tooLong)]) {
      expect(await denied(addReview, customer, input)).toEqual(['Mutation.addReview (invalid-input)']);
    }
  });

  it('says what was wrong', async () => {
    const request = gateRequest(addReview, person('customer'), { variables: reviewInput(9, 'ok') });
    const { denials } = await gate.evaluate(request);
    expect(denials[0]?.error?.message).toBe('input.rating must be less than or equal to 5');
  });

  it('checks the right first: a caller without it is refused as forbidden, not told about its input', async () => {
    expect(await denied(addReview, person('developer'), reviewInput(9, ''))).toEqual([
      'Mutation.addReview (forbidden)',
    ]);
  });

  it('leaves page sizes to the limits stage, which checks every @listSize slicing argument before it', async () => {
    const staff = person('staff');
    expect(await denied('{ products(first: 500) { pageInfo { hasNextPage } } }', staff)).toEqual([]);
    const nested = 'query ($n: Int!) { product(id: "1") { reviews(first: $n) { pageInfo { hasNextPage } } } }';
    expect(await denied(nested, staff, { n: 0 })).toEqual([]);
  });

  it('checks the e-mail address of an invitation', async () => {
    const invite = (email: string) =>
      `mutation { inviteUser(input: { name: "Bo", email: "${email}", roles: [STAFF] }) { id } }`;
    expect(await denied(invite('bo@acme.test'), person('admin'))).toEqual([]);
    expect(await denied(invite('not-an-address'), person('admin'))).toEqual(['Mutation.inviteUser (invalid-input)']);
    // yup's pattern backtracked exponentially on this shape; the linear check refuses it at once.
    const hostile = `${'a'.repeat(40)}@${'a.'.repeat(30)}!`;
    expect(await denied(invite(hostile), person('admin'))).toEqual(['Mutation.inviteUser (invalid-input)']);
  });
});

describe('introspection', () => {
  it('is for developers; __typename is for everyone', async () => {
    const query = '{ __schema { queryType { name } } __type(name: "Product") { name } }';
    expect(await denied(query, person('developer'))).toEqual([]);
    const refused = ['Query.__schema (forbidden)', 'Query.__type (forbidden)'];
    expect(await denied(query, person('admin'))).toEqual(refused);
    expect(await denied(query, partner('catalog:read'))).toEqual(refused);
    expect(await denied('{ __typename product(id: "1") { __typename } }', partner('catalog:read'))).toEqual([]);
    expect(await denied('{ __typename }', person())).toEqual([]);
  });
});
