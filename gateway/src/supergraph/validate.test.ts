import { composeServices } from '@apollo/composition';
import { parse, type GraphQLObjectType } from 'graphql';
import { introspectionRule, ruleTree } from '../authz/rules';
import { fixtureAuthorization, accounts, inventory, products } from '../testing/fixtures';
import { NO_REFERENCES, TOLLGATE_REFERENCES } from '../references/declarations';
import { readFileSync } from 'node:fs';
import { DEFAULT_SUPERGRAPH_PATH } from '../config-common';
import { assessImpact } from './impact';
import { MAX_SUPERGRAPH_BYTES, supergraphId } from './registry';
import { checkSupergraph, type SupergraphPolicy } from './validate';
import { createCostModel } from '../cost/estimate';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost"])';
const URL = 'http://127.0.0.1:9/graphql';

function compose(...subgraphs: { name: string; typeDefs: string | ReturnType<typeof parse> }[]): string {
  const result = composeServices(
    subgraphs.map(({ name, typeDefs }) => ({
      name,
      url: URL,
      typeDefs: typeof typeDefs === 'string' ? parse(typeDefs) : typeDefs,
    })),
  );
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

const fixturePolicy: SupergraphPolicy = {
  authorization: fixtureAuthorization,
  references: NO_REFERENCES,
  subgraphConfigured: (name) => ['accounts', 'products', 'inventory'].includes(name),
};

const baseline = () => compose(accounts, products, inventory);
const productsWith = (extra: string, fields = '') =>
  `${FEDERATION}
  type Query { products: [Product!]! }
  type Product @key(fields: "id") { id: ID! name: String! related: [Product!]! ${fields} }
  ${extra}`;

describe('checkSupergraph', () => {
  it('passes the fixtures and hands back what it built, its id the SHA-256 of the SDL', () => {
    const sdl = baseline();
    const check = checkSupergraph(sdl, fixturePolicy);
    if (!check.ok) throw new Error(check.message);
    expect(check.supergraph.id).toBe(supergraphId(sdl));
    expect([...check.supergraph.subgraphs].sort()).toEqual(['accounts', 'inventory', 'products']);
    expect(check.supergraph.apiSchema.getType('Product')).toBeDefined();
    expect(check.supergraph.gate.uncoveredFields).toEqual([]);
    expect(check.supergraph.costModel.types.has('Product')).toBe(true);
  });

  it("passes Tollgate's own supergraph with its own policy", () => {
    const check = checkSupergraph(readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8'), {
      authorization: { rules: ruleTree, introspectionRule },
      references: TOLLGATE_REFERENCES,
      subgraphConfigured: () => true,
    });
    expect(check.ok ? 'ok' : `${check.reason}: ${check.message}`).toBe('ok');
  });

  it('passes a supergraph with a field added where a rule covers it', () => {
    const sdl = compose(accounts, { name: 'products', typeDefs: productsWith('', 'sku: String') }, inventory);
    const check = checkSupergraph(sdl, fixturePolicy);
    expect(check.ok).toBe(true);
    if (check.ok)
      expect(Object.keys((check.supergraph.apiSchema.getType('Product') as GraphQLObjectType).getFields())).toContain(
        'sku',
      );
  });

  it.each([
    ['unparsable', 'this is { not graphql'],
    ['unparsable', 'type Query { hello: String }'],
  ])('refuses %s text: %s', (reason, sdl) => {
    const check = checkSupergraph(sdl, fixturePolicy);
    expect(check).toMatchObject({ ok: false, reason, id: supergraphId(sdl) });
  });

  it('refuses a supergraph larger than the bound without parsing it', () => {
    const sdl = `#${'x'.repeat(MAX_SUPERGRAPH_BYTES)}`;
    expect(checkSupergraph(sdl, fixturePolicy)).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('refuses a field no authorization rule covers, naming it', () => {
    const sdl = compose(
      accounts,
      { name: 'products', typeDefs: productsWith('type Coupon { code: String! }', 'coupon: Coupon') },
      inventory,
    );
    const check = checkSupergraph(sdl, fixturePolicy);
    expect(check).toMatchObject({ ok: false, reason: 'uncovered-fields' });
    if (!check.ok) expect(check.message).toContain('Coupon.code');
    // The CLI's --skip-policy leaves coverage to the gateways.
    expect(checkSupergraph(sdl, { ...fixturePolicy, skipRuleCoverage: true }).ok).toBe(true);
  });

  it('refuses a supergraph naming a subgraph the deployment has no URL for', () => {
    const shipping = `${FEDERATION} type Query { shipments: [String!]! }`;
    const sdl = compose(accounts, products, inventory, { name: 'shipping', typeDefs: shipping });
    const check = checkSupergraph(sdl, fixturePolicy);
    expect(check).toMatchObject({ ok: false, reason: 'missing-subgraph' });
    if (!check.ok) expect(check.message).toContain('"shipping"');
  });

  it('refuses rules that do not fit the schema (a rule for a type it no longer has)', () => {
    const policy: SupergraphPolicy = {
      ...fixturePolicy,
      authorization: { ...fixtureAuthorization, rules: { ...fixtureAuthorization.rules, Coupon: {} } },
    };
    expect(checkSupergraph(baseline(), policy)).toMatchObject({ ok: false, reason: 'invalid-rules' });
  });

  it('refuses a supergraph whose reference declarations no longer match', () => {
    const policy: SupergraphPolicy = {
      ...fixturePolicy,
      references: { owners: { Product: 'products' }, arguments: { 'Mutation.adjustStock.productId': 'Product' } },
    };
    expect(checkSupergraph(baseline(), policy)).toMatchObject({ ok: false, reason: 'references' });
  });

  it('keeps a long library message to a bounded length', () => {
    const check = checkSupergraph(`type Query { ${'a: String '.repeat(5_000)}`, fixturePolicy);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.message.length).toBeLessThanOrEqual(501);
  });
});

describe('assessImpact', () => {
  const withSku = compose(accounts, { name: 'products', typeDefs: productsWith('', 'sku: String') }, inventory);
  const manifest = {
    tenantId: 'acme',
    client: 'erp',
    version: 3,
    operations: [
      { id: 'a'.repeat(64), name: 'Skus', type: 'query' as const, body: 'query Skus { products { id sku } }' },
      { id: 'b'.repeat(64), name: 'Names', type: 'query' as const, body: 'query Names { products { id name } }' },
    ],
  };

  it('names each published operation a removed field breaks, with its tenant, client and version', () => {
    const next = baseline();
    const check = checkSupergraph(next, fixturePolicy);
    if (!check.ok) throw new Error(check.message);
    const impact = assessImpact({
      next: check.supergraph,
      previous: { costModel: createCostModel(withSku) },
      manifests: [manifest],
    });
    expect(impact.operations).toBe(2);
    expect(impact.broken).toEqual([
      expect.objectContaining({
        tenantId: 'acme',
        client: 'erp',
        version: 3,
        operationName: 'Skus',
        problems: [expect.stringContaining('sku')],
      }),
    ]);
  });

  it('reports the estimated cost change of a persisted operation', () => {
    const pricier = compose(
      accounts,
      { name: 'products', typeDefs: productsWith('', 'sku: String @cost(weight: 7)') },
      inventory,
    );
    const check = checkSupergraph(pricier, fixturePolicy);
    if (!check.ok) throw new Error(check.message);
    const impact = assessImpact({
      next: check.supergraph,
      previous: { costModel: createCostModel(withSku) },
      manifests: [manifest],
    });
    expect(impact.broken).toEqual([]);
    expect(impact.costChanges).toHaveLength(1);
    const [change] = impact.costChanges;
    expect(change).toMatchObject({ operationName: 'Skus' });
    expect(change!.after! - change!.before!).toBeGreaterThan(0);
  });
});
