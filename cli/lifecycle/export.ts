/**
 * `tollgate tenant export` and `tollgate tenant import`: a tenant's documents from every subgraph as NDJSON, in
 * bounded memory whatever the tenant's size.
 *
 * The file: one header line `{"format":"tollgate-export/1","tenant":…}`, then one line per document
 * `{"subgraph":…,"collection":…,"doc":<EJSON>}`, collection after collection, then one manifest line
 * `{"manifest":[{subgraph, collection, count, checksum}]}`. Export reads each collection as one stream from the
 * subgraph's cursor and awaits the writer after every line, so backpressure reaches the database; the
 * checksum is computed on the documents as written and checked against the subgraph's own, so the manifest
 * vouches for the file. Import sends batches of IMPORT_BATCH documents and verifies the target's checksums against
 * the manifest at the end (portable.ts: a re-import has the source's checksums).
 */
import mongoose from 'mongoose';
import { isSubgraphName, type SubgraphName } from '../../subgraphs/catalog';
import { isTenantId } from '../../common/ids';
import { CollectionChecksum } from '../../subgraphs/kit/platform/portable';
import type { CollectionStats } from '../../subgraphs/kit/platform/operations';
import type { PlatformClient } from './platform-client';

export const EXPORT_FORMAT = 'tollgate-export/1';
export const IMPORT_BATCH = 1_000;

export interface ManifestEntry extends CollectionStats {
  subgraph: SubgraphName;
}

export class ExportMismatchError extends Error {
  constructor(entry: string) {
    super(
      `${entry} changed while it was exported (count or checksum differs from the subgraph's): suspend the tenant or retry`,
    );
    this.name = 'ExportMismatchError';
  }
}

/** Streams the tenant's documents to `write` (which resolves when the line may be followed by another). */
export async function exportTenant(
  platform: PlatformClient,
  tenantId: string,
  write: (line: string) => Promise<void>,
): Promise<ManifestEntry[]> {
  await write(JSON.stringify({ format: EXPORT_FORMAT, tenant: tenantId, exportedAt: new Date().toISOString() }));
  const manifest: ManifestEntry[] = [];
  for (const subgraph of platform.subgraphs) {
    const { collections } = await platform.call<{ collections: CollectionStats[] }>(subgraph, 'stats', tenantId);
    for (const expected of collections) {
      const sum = new CollectionChecksum();
      const body = { collection: expected.collection };
      for await (const line of platform.lines(subgraph, 'export', tenantId, body)) {
        sum.add(mongoose.mongo.BSON.EJSON.parse(line) as Record<string, unknown>, tenantId);
        await write(
          `{"subgraph":${JSON.stringify(subgraph)},"collection":${JSON.stringify(expected.collection)},"doc":${line}}`,
        );
      }
      const entry: ManifestEntry = {
        subgraph,
        collection: expected.collection,
        count: sum.count,
        checksum: sum.checksum,
      };
      if (entry.count !== expected.count || entry.checksum !== expected.checksum)
        throw new ExportMismatchError(`${subgraph}/${expected.collection}`);
      manifest.push(entry);
    }
  }
  await write(JSON.stringify({ manifest }));
  return manifest;
}

export interface ImportReport {
  sourceTenant: string;
  tenant: string;
  inserted: number;
  existing: number;
  /** Per collection: the manifest's figures and the target's after the import. */
  verification: { subgraph: SubgraphName; collection: string; expected: CollectionStats; actual: CollectionStats }[];
  verified: boolean;
}

export class ImportFileError extends Error {
  constructor(line: number, problem: string) {
    super(`line ${line} of the export: ${problem}`);
    this.name = 'ImportFileError';
  }
}

/** Imports an export file, read line by line from `lines`, into `tenantId`; verifies it against the manifest. */
export async function importTenant(
  platform: PlatformClient,
  tenantId: string,
  lines: AsyncIterable<string>,
): Promise<ImportReport> {
  let lineNo = 0;
  let source: string | undefined;
  let manifest: ManifestEntry[] | undefined;
  let batch: unknown[] = [];
  let batchKey: { subgraph: SubgraphName; collection: string } | undefined;
  let inserted = 0;
  let existing = 0;

  const flush = async () => {
    if (!batchKey || batch.length === 0) return;
    const answer = await platform.call<{ inserted: number; existing: number }>(batchKey.subgraph, 'import', tenantId, {
      collection: batchKey.collection,
      sourceTenant: source,
      documents: JSON.stringify(batch),
    });
    inserted += answer.inserted;
    existing += answer.existing;
    batch = [];
  };

  for await (const text of lines) {
    lineNo++;
    if (text.trim() === '') continue;
    if (manifest) throw new ImportFileError(lineNo, 'nothing may follow the manifest');
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ImportFileError(lineNo, 'not JSON');
    }
    if (source === undefined) {
      if (parsed.format !== EXPORT_FORMAT || !isTenantId(parsed.tenant))
        throw new ImportFileError(lineNo, `the first line must be a ${EXPORT_FORMAT} header`);
      source = parsed.tenant;
      continue;
    }
    if ('manifest' in parsed) {
      if (!Array.isArray(parsed.manifest)) throw new ImportFileError(lineNo, 'malformed manifest');
      manifest = parsed.manifest as ManifestEntry[];
      continue;
    }
    const { subgraph, collection, doc } = parsed;
    if (typeof subgraph !== 'string' || !isSubgraphName(subgraph) || typeof collection !== 'string' || !doc)
      throw new ImportFileError(lineNo, 'a document line names a subgraph, a collection and the document');
    if (batchKey?.subgraph !== subgraph || batchKey.collection !== collection || batch.length >= IMPORT_BATCH) {
      await flush();
      batchKey = { subgraph, collection };
    }
    batch.push(doc);
  }
  await flush();
  if (!source) throw new ImportFileError(lineNo, 'the file is empty');
  if (!manifest) throw new ImportFileError(lineNo, 'the manifest line is missing: the export was cut short');

  const verification: ImportReport['verification'] = [];
  for (const subgraph of new Set(manifest.map((entry) => entry.subgraph))) {
    if (!isSubgraphName(subgraph)) throw new ImportFileError(lineNo, 'the manifest names an unknown subgraph');
    const { collections } = await platform.call<{ collections: CollectionStats[] }>(subgraph, 'stats', tenantId);
    for (const expected of manifest.filter((entry) => entry.subgraph === subgraph)) {
      const actual = collections.find((c) => c.collection === expected.collection) ?? {
        collection: expected.collection,
        count: 0,
        checksum: '',
      };
      verification.push({ subgraph, collection: expected.collection, expected, actual });
    }
  }
  const verified = verification.every(
    (v) => v.actual.count === v.expected.count && v.actual.checksum === v.expected.checksum,
  );
  return { sourceTenant: source, tenant: tenantId, inserted, existing, verification, verified };
}
