/**
 * The API schema the gateway serves for a supergraph. Its own module so that what needs only the schema — the CLI
 * and the demo seeding, which validate manifests against it; tests — does not load the authorization gate.
 */
import { Supergraph } from '@apollo/federation-internals';
import type { GraphQLSchema } from 'graphql';

/** The API schema the gateway serves for a supergraph: @inaccessible elements and join/link machinery removed. */
export function buildApiSchema(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
}
