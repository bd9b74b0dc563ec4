/**
 * `npm run codegen`: resolver types for each subgraph, generated from its schema.graphql, and for each client folder
 * in schema/operations/<client>/ typed documents and a persisted query manifest — every folder with `.graphql`
 * files is found (schema/operations/clients.ts), so a new client needs no edit here. The files are checked in;
 * subgraphs/codegen.test.ts fails when one is stale. Parents are the mongoose lean records (mappers), so a resolver
 * that returns a record where the schema expects another shape does not compile.
 *
 * TypeScript rather than YAML because a YAML configuration cannot list directories; there is no codegen.yml beside
 * it, since the codegen CLI, run without --config, would find codegen.yml first and silently skip new clients.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';
import { join } from 'node:path';
import { clientFolders } from './schema/operations/clients';

type Output = CodegenConfig['generates'][string];

const OPERATIONS = 'schema/operations';

/** Client operations are validated against the supergraph's API schema, not the supergraph itself. */
const apiSchema = [{ 'schema/supergraph.graphql': { loader: `./${OPERATIONS}/api-schema-loader.cjs` } }];

function subgraphResolvers(name: string, context: string, mappers: Record<string, string>): Record<string, Output> {
  return {
    [`subgraphs/${name}/generated/resolvers-types.ts`]: {
      schema: `subgraphs/${name}/schema.graphql`,
      plugins: ['typescript', 'typescript-resolvers'],
      config: { contextType: `../context#${context}`, mappers },
    },
  };
}

/** Typed documents for the client's code, and the manifest (Apollo's format) that `tollgate manifest publish` takes. */
function clientOutputs(client: string): Record<string, Output> {
  const documents = `${OPERATIONS}/${client}/*.graphql`;
  return {
    [`${OPERATIONS}/${client}/generated/operations.ts`]: {
      schema: apiSchema,
      documents,
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: { onlyOperationTypes: true },
    },
    [`${OPERATIONS}/${client}/generated/manifest.json`]: {
      schema: apiSchema,
      documents,
      plugins: [`./${OPERATIONS}/manifest-plugin.cjs`],
    },
  };
}

const config: CodegenConfig = {
  overwrite: true,
  // Shared by every output below; each adds its context type and mappers.
  config: { federation: true, useTypeImports: true, enumsAsTypes: true },
  generates: {
    ...subgraphResolvers('accounts', 'AccountsContext', { User: '../models#UserRecord' }),
    ...subgraphResolvers('products', 'ProductsContext', { Product: '../models#ProductRecord' }),
    ...subgraphResolvers('inventory', 'InventoryContext', { Product: '../models#StockedProduct' }),
    ...subgraphResolvers('reviews', 'ReviewsContext', {
      Review: '../models#ReviewRecord',
      User: '../models#EntityStub',
      Product: '../models#EntityStub',
    }),
    ...Object.assign({}, ...clientFolders(join(__dirname, OPERATIONS)).map(clientOutputs)),
  },
};

export default config;
