/**
 * Relay-style connections over `_id`. `first` is required and bounded so one field costs at most one bounded
 * query; the cursor is the last `_id` seen, base64url-encoded so clients treat it as opaque. A cursor is only a
 * position: used in another tenant it positions within that tenant's own documents.
 */
import mongoose, { Types, type Model } from 'mongoose';
import { badInput } from './errors';

export const MAX_PAGE_SIZE = 100;
/** The most items any input list may hold. */
export const MAX_INPUT_LIST = 250;

export interface PageArgs {
  first: number;
  after?: string | null;
}

/** `first` and the decoded `after`, validated: the only form in which page arguments reach a query. */
export interface Page {
  first: number;
  after: Types.ObjectId | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const CURSOR_PATTERN = /^[A-Za-z0-9_-]{16}$/;

export function encodeCursor(id: Types.ObjectId): string {
  return Buffer.from(id.toHexString(), 'hex').toString('base64url');
}

export function decodeCursor(cursor: string): Types.ObjectId {
  if (!CURSOR_PATTERN.test(cursor)) throw badInput('Invalid cursor');
  const bytes = Buffer.from(cursor, 'base64url');
  // base64url has several spellings of the same bytes; only the canonical one is a cursor we issued.
  if (bytes.length !== 12 || bytes.toString('base64url') !== cursor) throw badInput('Invalid cursor');
  return new Types.ObjectId(bytes.toString('hex'));
}

export function parsePage(args: PageArgs): Page {
  const { first, after } = args;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`"first" must be between 1 and ${MAX_PAGE_SIZE}`);
  }
  return { first, after: after === undefined || after === null ? null : decodeCursor(after) };
}

export function assertListSize(list: readonly unknown[], field: string): void {
  if (list.length > MAX_INPUT_LIST) throw badInput(`"${field}" may hold at most ${MAX_INPUT_LIST} items`);
}

export type SortOrder = 'oldest-first' | 'newest-first';

/**
 * One page of `model` matching `filter`, ordered by `_id`. Fetches `first + 1` documents to learn whether there is a
 * next page. `filter` must be built by the caller from validated values only; the tenant is added by the plugin.
 */
export async function paginate<T extends { _id: Types.ObjectId }>(
  model: Model<T>,
  filter: Record<string, unknown>,
  page: Page,
  order: SortOrder = 'oldest-first',
): Promise<Connection<T>> {
  const direction = order === 'oldest-first' ? 1 : -1;
  const conditions = { ...filter };
  if (page.after) {
    // Operators in code-built filters must be marked trusted: the connection sanitizes filters.
    conditions._id = mongoose.trusted(direction === 1 ? { $gt: page.after } : { $lt: page.after });
  }
  const rows = (await model
    .find(conditions)
    .sort({ _id: direction })
    .limit(page.first + 1)
    .lean()
    .exec()) as T[];
  const nodes = rows.slice(0, page.first);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node._id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
