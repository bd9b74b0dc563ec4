/** Composes test subgraphs into a supergraph file the gateway can load (SUPERGRAPH_PATH). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import type { DocumentNode } from 'graphql';

export function writeTestSupergraph(
  subgraphs: readonly { name: string; url: string; typeDefs: DocumentNode }[],
): string {
  const result = composeServices(subgraphs.map(({ name, url, typeDefs }) => ({ name, url, typeDefs })));
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => e.message).join('\n')}`);
  const path = join(mkdtempSync(join(tmpdir(), 'tollgate-supergraph-')), 'supergraph.graphql');
  writeFileSync(path, result.supergraphSdl);
  return path;
}
