/**
 * Three small subgraphs with the catalog's names (the gateway's config has URLs for those names only):
 * accounts answers who the subgraph thinks is calling and fails in the ways a real subgraph can; products owns
 * Product; inventory extends it, so a product list with stock spans two subgraphs.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { GraphQLError, parse, type DocumentNode } from 'graphql';
import { allow, deny, rule } from 'graphql-shield';
import type { AuthzContext, RuleTree, ShieldRule } from '../authz/gate';
import type { SubgraphContext } from './subgraph';

export interface SubgraphFixture {
  name: 'accounts' | 'products' | 'inventory';
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<SubgraphContext>;
}

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])';

export const PRODUCTS = [
  { id: 'p1', name: 'Kettle' },
  { id: 'p2', name: 'Teapot' },
];

export const accounts: SubgraphFixture = {
  name: 'accounts',
  typeDefs: parse(`${FEDERATION}
    type Query {
      whoami: Whoami!
      "Fails with a stack trace and internal extensions."
      crash: String
      "Fails with a plain Error: no code, a message with internals."
      leak: String
      "Fails with NOT_FOUND, which the client may see."
      missing: String
      "Takes an enum argument, for variable coercion messages."
      greet(role: Role!): String!
      "Denied to everyone by the fixtures' policy."
      forbidden: String
    }
    enum Role { ADMIN CUSTOMER }
    type Whoami { tenant: String! principal: String! roles: [String!]! audience: String! kind: String! }
  `),
  resolvers: {
    Query: {
      whoami: (_: unknown, __: unknown, { claims }: SubgraphContext) => ({
        tenant: claims.ten,
        principal: claims.sub,
        roles: claims.roles,
        audience: claims.aud,
        kind: claims.kind,
      }),
      crash: () => {
        throw new GraphQLError('E11000 duplicate key in tenants.users at mongodb://10.1.2.3', {
          extensions: {
            code: 'INTERNAL_SERVER_ERROR',
            stacktrace: ['Error: E11000', '    at /srv/accounts/users.ts:10:5'],
            exception: { host: '10.1.2.3' },
            dbCollection: 'users',
          },
        });
      },
      leak: () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:27017');
      },
      missing: () => {
        throw new GraphQLError('No such thing', { extensions: { code: 'NOT_FOUND' } });
      },
      greet: (_: unknown, { role }: { role: string }) => `hello ${role}`,
      forbidden: () => 'never served',
    },
  },
};

export const products: SubgraphFixture = {
  name: 'products',
  typeDefs: parse(`${FEDERATION}
    type Query { products: [Product!]! }
    type Product @key(fields: "id") { id: ID! name: String! related: [Product!]! }
  `),
  resolvers: {
    Query: { products: () => PRODUCTS },
    Product: {
      related: () => [],
      __resolveReference: (ref: { id: string }) => PRODUCTS.find((p) => p.id === ref.id),
    },
  },
};

export const inventory: SubgraphFixture = {
  name: 'inventory',
  typeDefs: parse(`${FEDERATION}
    type Product @key(fields: "id") { id: ID! inStock: Boolean }
  `),
  resolvers: {
    Product: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, inStock: ref.id === 'p1' }) },
  },
};

/** Introspection for developers, as in the product graph's policy. */
const isDeveloper = rule('fixture:developer', { cache: 'contextual' })((_parent, _args, ctx: AuthzContext) =>
  ctx.caller.roles.includes('developer'),
);

/**
 * The fixtures' authorization policy: everything they declare is open to any authenticated caller except
 * `Query.forbidden`, so the platform tests exercise the real gate without the product graph's rule tree.
 */
export const fixtureAuthorization: { rules: RuleTree; introspectionRule: ShieldRule } = {
  rules: {
    Query: { '*': allow, forbidden: deny },
    Whoami: { '*': allow },
    Product: { '*': allow },
  },
  introspectionRule: isDeveloper,
};
