/**
 * Composes the subgraph SDLs into the supergraph the gateway serves. The result is a generated artifact that is
 * checked in (schema/supergraph.graphql); a test fails when it is stale.
 */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { join } from 'node:path';
import { DEFAULT_SUBGRAPH_PORTS, SUBGRAPH_NAMES, readSubgraphSdl } from '../subgraphs/catalog';
import { PLATFORM_SUBGRAPH, PLATFORM_SUBGRAPH_URL, readPlatformSdl } from '../gateway/src/platform-graph/sdl';

export const SUPERGRAPH_PATH = join(__dirname, 'supergraph.graphql');

export function composeSupergraph(): string {
  const result = composeServices([
    ...SUBGRAPH_NAMES.map((name) => ({
      name,
      // The URL in the artifact is only a default: the gateway overrides it from its config.
      url: `http://127.0.0.1:${DEFAULT_SUBGRAPH_PORTS[name]}/graphql`,
      typeDefs: parse(readSubgraphSdl(name)),
    })),
    // The gateway-owned graph (gateway/src/platform-graph): served in-process, never fetched over HTTP.
    { name: PLATFORM_SUBGRAPH, url: PLATFORM_SUBGRAPH_URL, typeDefs: parse(readPlatformSdl()) },
  ]);
  if (result.errors) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl + '\n';
}
