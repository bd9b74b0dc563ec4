/**
 * The gateway-owned subgraph `platform`: its name and SDL. Kept apart from the module that serves it (index.ts) so
 * composition (schema/compose.ts) reads the SDL without importing the gateway's resolvers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../common/paths';

/** Its name in the supergraph; `buildService` (server.ts) serves it in-process instead of over HTTP. */
export const PLATFORM_SUBGRAPH = 'platform';

/**
 * The URL composition writes for it. Nothing fetches it: no process listens for the platform graph, and the
 * gateway's data source for it never opens a socket.
 */
export const PLATFORM_SUBGRAPH_URL = 'http://platform.tollgate.invalid/graphql';

/** From the project root, not `__dirname`: a bundle (dist/gateway.js) shares one `__dirname` (common/paths.ts). */
export const PLATFORM_SCHEMA_PATH = join(PROJECT_ROOT, 'gateway', 'src', 'platform-graph', 'schema.graphql');

export function readPlatformSdl(): string {
  return readFileSync(PLATFORM_SCHEMA_PATH, 'utf8');
}
