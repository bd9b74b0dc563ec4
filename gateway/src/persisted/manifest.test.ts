import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { buildApiSchema } from '../schema/api-schema';
import { DEFAULT_SUPERGRAPH_PATH } from '../config';
import { checkManifest, isManifestName, operationId } from './manifest';

const schema = buildSchema(
  'type Query { hello: String  product(id: ID!): Product } type Product { id: ID! name: String } type Mutation { rename(id: ID!): Product }',
);
const HELLO = 'query Hello {\n  hello\n}';
const manifest = (operations: unknown[]) => ({ format: 'apollo-persisted-query-manifest', version: 1, operations });
const entry = (body: string, overrides: Record<string, unknown> = {}) => ({
  id: operationId(body),
  name: /(?:query|mutation) (\w+)/.exec(body)?.[1],
  type: body.startsWith('mutation') ? 'mutation' : 'query',
  body,
  ...overrides,
});

describe('checkManifest', () => {
  it('accepts a manifest whose operations are what their entries say', () => {
    const rename = 'mutation Rename($id: ID!) {\n  rename(id: $id) {\n    id\n  }\n}';
    const checked = checkManifest(manifest([entry(HELLO), entry(rename)]), schema);
    expect(checked).toEqual({ manifest: manifest([entry(HELLO), entry(rename)]) });
  });

  it.each<[string, unknown, string]>([
    [
      'another format',
      { ...manifest([entry(HELLO)]), format: 'relay' },
      'format must be "apollo-persisted-query-manifest"',
    ],
    ['no operations', manifest([]), 'operations must be a list of 1–1000 operations'],
    [
      'an id that is not the hash of the body',
      manifest([entry(HELLO, { id: operationId('query Other { hello }') })]),
      'operations[0]: id must be the SHA-256 (hex) of body',
    ],
    [
      'a wrong name',
      manifest([entry(HELLO, { name: 'Bye' })]),
      'operations[0]: name must be the name of the operation in body',
    ],
    ['a wrong type', manifest([entry(HELLO, { type: 'mutation' })]), 'operations[0]: type must be "query"'],
    [
      'two operations in one body',
      manifest([entry('query A { hello } query B { hello }', { name: 'A' })]),
      'operations[0]: body must hold exactly one operation',
    ],
    [
      'a body that does not parse',
      manifest([entry('query Broken {', { name: 'Broken' })]),
      'operations[0]: body does not parse: Syntax Error: Expected Name, found <EOF>.',
    ],
    [
      'an operation the schema no longer has',
      manifest([entry('query Gone {\n  gone\n}')]),
      'operations[0]: does not validate: Cannot query field "gone" on type "Query".',
    ],
    [
      'the same operation twice',
      manifest([entry(HELLO), entry(HELLO)]),
      `operations[1]: id ${operationId(HELLO)} appears twice`,
    ],
  ])('refuses %s', (_what, value, problem) => {
    const checked = checkManifest(value, schema);
    expect('problems' in checked && checked.problems).toContain(problem);
  });

  it.each(['acme-partner', 'storefront', 'wms-v1.2'])('takes %s as a manifest name', (name) =>
    expect(isManifestName(name)).toBe(true),
  );
  it.each(['', '-x', 'a/b', 'a:b', 'x'.repeat(101)])('refuses %j as a manifest name', (name) =>
    expect(isManifestName(name)).toBe(false),
  );
});

describe('the generated manifests', () => {
  const apiSchema = buildApiSchema(readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8'));

  it.each(['acme-partner', 'globex-partner', 'storefront'])(
    '%s validates against the supergraph the gateway serves',
    (client) => {
      const file = join(__dirname, '..', '..', '..', 'schema', 'operations', client, 'generated', 'manifest.json');
      const checked = checkManifest(JSON.parse(readFileSync(file, 'utf8')), apiSchema);
      expect('problems' in checked ? checked.problems : []).toEqual([]);
    },
  );
});
