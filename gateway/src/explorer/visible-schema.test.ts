/**
 * The visible schema against the real policy: the fields a caller's introspection shows are exactly those the gate
 * lets that caller select, asked field by field, and types that only denied fields led to are gone.
 */
import {
  getIntrospectionQuery,
  graphqlSync,
  isObjectType,
  isIntrospectionType,
  type IntrospectionQuery,
} from 'graphql';
import { AuthorizationGate } from '../authz/gate';
import { introspectionRule, ruleTree } from '../authz/rules';
import { apiSchema, gateRequest, partner, person } from '../authz/test-fixtures';
import type { Caller } from '../request';
import { createVisibleSchemas } from './visible-schema';

const gate = new AuthorizationGate({ schema: apiSchema, rules: ruleTree, introspectionRule });

async function introspect(caller: Caller): Promise<IntrospectionQuery> {
  const schema = await createVisibleSchemas(gate).forCaller(caller);
  const result = graphqlSync({ schema, source: getIntrospectionQuery() });
  expect(result.errors).toBeUndefined();
  return result.data as unknown as IntrospectionQuery;
}

/** `Type.field` for every object field of the API schema, and whether the gate lets the caller select it. */
async function decisionsFor(caller: Caller): Promise<Map<string, boolean>> {
  const decisions = new Map<string, boolean>();
  for (const type of Object.values(apiSchema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.keys(type.getFields())) {
      decisions.set(`${type.name}.${field}`, await gate.callable(caller, type.name, field));
    }
  }
  return decisions;
}

function shownFields(result: IntrospectionQuery): Set<string> {
  const shown = new Set<string>();
  for (const type of result.__schema.types) {
    if (type.kind !== 'OBJECT' || type.name.startsWith('__')) continue;
    for (const field of type.fields) shown.add(`${type.name}.${field.name}`);
  }
  return shown;
}

describe('the schema a developer sees', () => {
  const developer = person('developer');

  it('omits exactly the fields the rules deny the developer, on every type it shows', async () => {
    const result = await introspect(developer);
    const decisions = await decisionsFor(developer);
    const shown = shownFields(result);
    const shownTypes = new Set(result.__schema.types.map((t) => t.name));
    const denied = [...decisions].filter(([, ok]) => !ok).map(([name]) => name);
    const allowedOnShownTypes = [...decisions]
      .filter(([name, ok]) => ok && shownTypes.has(name.split('.')[0]!))
      .map(([name]) => name);

    expect(denied).toEqual(expect.arrayContaining(['Query.user', 'Query.users', 'Mutation.createProduct']));
    expect([...shown].sort()).toEqual(allowedOnShownTypes.sort());
    for (const name of denied) expect(shown).not.toContain(name);
  });

  it('drops the types only denied fields lead to', async () => {
    const result = await introspect(developer);
    const names = result.__schema.types.map((t) => t.name);
    expect(result.__schema.mutationType).toBeNull();
    expect(names).not.toContain('Mutation');
    expect(names).not.toContain('UserConnection');
    expect(names).toEqual(expect.arrayContaining(['Query', 'Product', 'Review', 'User', 'ProductConnection']));
  });

  it('agrees with the gate deciding whole operations', async () => {
    const shown = shownFields(await introspect(developer));
    const users = await gate.evaluate(gateRequest('{ users(first: 1) { edges { node { id } } } }', developer));
    const products = await gate.evaluate(gateRequest('{ products(first: 1) { edges { node { name } } } }', developer));
    expect(users.denials.map((d) => `${d.typeName}.${d.field.fieldName}`)).toEqual(['Query.users']);
    expect(shown).not.toContain('Query.users');
    expect(products.denials).toEqual([]);
    expect(shown).toContain('Query.products');
  });

  it('counts a field whose rule checks only its arguments as callable', async () => {
    expect(await gate.callable(developer, 'Query', 'products')).toBe(true);
    expect(await gate.callable(developer, 'Mutation', 'inviteUser')).toBe(false);
    expect(await gate.callable(person('admin'), 'Mutation', 'inviteUser')).toBe(true);
  });
});

describe('other callers', () => {
  it('shows an admin the mutations and a catalog partner only the catalog', async () => {
    const admin = shownFields(await introspect(person('admin', 'developer')));
    expect(admin).toContain('Mutation.inviteUser');
    const catalog = shownFields(await introspect(partner('catalog:read')));
    expect(catalog).toContain('Product.name');
    expect(catalog).not.toContain('Product.inStock');
    expect(catalog).not.toContain('Query.me');
  });

  it('shares one schema between callers with the same decisions', async () => {
    const schemas = createVisibleSchemas(gate);
    const acme = await schemas.forCaller(person('developer'));
    const globex = await schemas.forCaller({ ...person('developer'), tenantId: 'globex' });
    expect(globex).toBe(acme);
    expect(await schemas.forCaller(person('admin'))).not.toBe(acme);
  });

  it('grants introspection to developers only', async () => {
    expect(await gate.mayIntrospect(person('developer'))).toBe(true);
    expect(await gate.mayIntrospect(person('admin', 'customer'))).toBe(false);
    expect(await gate.mayIntrospect(partner('catalog:read', 'users:read'))).toBe(false);
  });
});
