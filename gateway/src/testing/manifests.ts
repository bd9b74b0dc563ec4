/** Persisted-operation manifests for tests: partners' API keys run operations by id only. */
import { readFileSync } from 'node:fs';
import { buildApiSchema } from '../schema/api-schema';
import { checkManifest, operationId, type PersistedQueryManifest } from '../persisted/manifest';

/** A checked manifest of `bodies` (named queries) against the API schema of the supergraph at `supergraphPath`. */
export function testManifest(supergraphPath: string, ...bodies: string[]): PersistedQueryManifest {
  const operations = bodies.map((body) => ({
    id: operationId(body),
    name: /^query (\w+)/.exec(body)?.[1],
    type: 'query',
    body,
  }));
  const checked = checkManifest(
    { format: 'apollo-persisted-query-manifest', version: 1, operations },
    buildApiSchema(readFileSync(supergraphPath, 'utf8')),
  );
  if ('problems' in checked) throw new Error(`test manifest refused: ${checked.problems.join('; ')}`);
  return checked.manifest;
}

/** A request body naming the operation `body` by id, in APQ's shape. */
export function byId(body: string): { extensions: { persistedQuery: { version: 1; sha256Hash: string } } } {
  return { extensions: { persistedQuery: { version: 1, sha256Hash: operationId(body) } } };
}
