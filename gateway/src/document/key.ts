/**
 * The one key every per-document cache uses: Apollo Server's query hash (SHA-256 of the query text) and the
 * operation name, since one text may hold several operations. No schema part: each cache belongs to one gate or
 * estimator, built for one schema and replaced with it.
 */
import { createHash } from 'node:crypto';

/** SHA-256 (hex) of a document's text, the way Apollo Server hashes a query. */
export function queryHashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function documentKey(queryHash: string, operationName: string | null | undefined): string {
  return `${queryHash}\u0000${operationName ?? ''}`;
}
