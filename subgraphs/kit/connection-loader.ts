/**
 * Pages of children for many parents (`Product.reviews`, `User.reviews`) with one `find` per DataLoader batch.
 *
 * FerretDB 1.24 has no `$facet`, `$lookup`, `$unionWith` or `$setWindowFields`, and its `$group` knows neither
 * `$push`/`$topN` nor even `$first` (checked against the embedded server), so "the first N children of each parent"
 * cannot be asked for directly. What both it and MongoDB do support is one `find` whose `$or` holds one branch per
 * parent (its id, and its `after` bound), sorted by `_id` across all branches, with a global limit. That result is
 * a prefix, in `_id` order, of every parent's remaining children merged; from it each page takes its `first + 1`
 * documents, exactly as `paginate` would have read them one parent at a time:
 *
 * - fewer rows than the limit: nothing was cut, every page is final;
 * - otherwise, with C the last row's `_id`: a page that already holds `first + 1` rows is final; any other page has
 *   seen all its children up to C, and the next round continues it beyond C (keeping what it has).
 *
 * The next round sorts by (parent, `_id`) instead: round 1 leaves open the pages of quiet parents, and in parent
 * order each parent before the last row's is complete. Rounds alternate between the two orders.
 *
 * The limit is `ROW_FACTOR × Σ(first + 1 − held)`, at most MAX_ROWS_PER_ROUND, so memory is bounded whatever a
 * parent holds. A parent with far more recent children than the others can starve them, hence more rounds; after
 * MAX_COMBINED_ROUNDS the pages still open are read one parent at a time, each bounded by its own need. Children of
 * parents with a few children each (the common case: a product's first three reviews) come in one command.
 *
 * Cursors, `hasNextPage` and `endCursor` are computed as `paginate` computes them; the tenant is added by the
 * tenant plugin like on every query of the model.
 */
import DataLoader from 'dataloader';
import mongoose, { Types, type Model } from 'mongoose';
import { isObjectIdHex } from '../../common/ids';
import { observedBatch, type BatchObserver } from './batch-observer';
import { encodeCursor, type Connection, type Page, type SortOrder } from './pagination';

/** Parents per batch; a larger batch is split into several batches (and so several rounds of queries). */
export const MAX_CONNECTION_BATCH = 100;
/** Rows asked for per round, as a multiple of the rows the open pages still need: room for uneven parents. */
const ROW_FACTOR = 2;
/** The most rows one round may hold in memory. */
const MAX_ROWS_PER_ROUND = 5_000;
/** Combined rounds before the pages still open are read one parent at a time. */
const MAX_COMBINED_ROUNDS = 3;

/** What one page of one parent asks for: the same shape as the per-parent loader's key (kit/loaders.ts). */
export interface BatchedConnectionKey {
  id: string;
  page: Page;
  /**
   * The document paths the resolvers will read, when known (from the selection set); `_id` and the parent path are
   * always read. Absent: whole documents.
   */
  fields?: readonly string[];
}

/** A page being filled: its parent, the exclusive bound beyond which its next rows lie, the rows it holds. */
interface OpenPage<T> {
  parent: Types.ObjectId;
  parentHex: string;
  first: number;
  bound: Types.ObjectId | null;
  rows: T[];
  done: boolean;
}

type Row = { _id: Types.ObjectId } & Record<string, unknown>;

export interface BatchedConnectionOptions {
  /** The path that holds the parent's id (`productId`, `authorId`). */
  parentPath: string;
  order: SortOrder;
}

function beyond(direction: 1 | -1, bound: Types.ObjectId) {
  // Operators in code-built filters must be marked trusted: the connection sanitizes filters.
  return mongoose.trusted(direction === 1 ? { $gt: bound } : { $lt: bound });
}

/** The stricter of two exclusive bounds in the page's direction. */
function stricter(direction: 1 | -1, a: Types.ObjectId | null, b: Types.ObjectId): Types.ObjectId {
  if (a === null) return b;
  const aFirst = a.toHexString() < b.toHexString();
  return direction === 1 ? (aFirst ? b : a) : aFirst ? a : b;
}

function projectionOf(keys: readonly BatchedConnectionKey[], parentPath: string): Record<string, 1> | undefined {
  if (keys.some((key) => key.fields === undefined)) return undefined;
  const projection: Record<string, 1> = { _id: 1, [parentPath]: 1 };
  for (const key of keys) for (const field of key.fields!) projection[field] = 1;
  return projection;
}

function toConnection<T extends { _id: Types.ObjectId }>(rows: T[], first: number): Connection<T> {
  const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor(node._id), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** Reads the pages of one batch; exported for tests, which compare it with `paginate`. */
export async function loadPages<T extends { _id: Types.ObjectId }>(
  model: Model<T>,
  keys: readonly BatchedConnectionKey[],
  options: BatchedConnectionOptions,
): Promise<Connection<T>[]> {
  const direction: 1 | -1 = options.order === 'oldest-first' ? 1 : -1;
  const { parentPath } = options;
  const projection = projectionOf(keys, parentPath);
  const pages: (OpenPage<Row> | null)[] = keys.map((key) =>
    isObjectIdHex(key.id)
      ? {
          parent: new Types.ObjectId(key.id),
          parentHex: key.id.toLowerCase(),
          first: key.page.first,
          bound: key.page.after,
          rows: [],
          done: false,
        }
      : null,
  );
  const find = (filter: Record<string, unknown>, limit: number, byParentOrder = false) => {
    // The batch size is the limit: the rows come in the find's answer, without getMore round trips (the server's
    // first batch is otherwise 101 documents).
    const query = model
      .find(filter)
      .sort(byParentOrder ? { [parentPath]: 1, _id: direction } : { _id: direction })
      .limit(limit)
      .batchSize(limit)
      .lean();
    if (projection) query.select(projection);
    return query.exec() as Promise<Row[]>;
  };
  const branch = (page: OpenPage<Row>) => ({
    [parentPath]: page.parent,
    ...(page.bound ? { _id: beyond(direction, page.bound) } : {}),
  });
  const need = (page: OpenPage<Row>) => page.first + 1 - page.rows.length;

  for (let round = 0; round < MAX_COMBINED_ROUNDS; round += 1) {
    const open = pages.filter((page): page is OpenPage<Row> => page !== null && !page.done);
    if (open.length === 0) break;
    // Round 1 merges all parents in `_id` order: busy parents take their pages from the newest rows. The pages it
    // leaves open are those of quiet parents (little recent activity, often few children in all), which the next
    // round reads parent after parent, where a parent with few children completes in full.
    const byParentOrder = round % 2 === 1;
    const limit = Math.min(MAX_ROWS_PER_ROUND, ROW_FACTOR * open.reduce((sum, page) => sum + need(page), 0));
    const rows = await find({ $or: open.map(branch) }, limit, byParentOrder);
    const byParent = new Map<string, OpenPage<Row>[]>();
    for (const page of open) byParent.set(page.parentHex, [...(byParent.get(page.parentHex) ?? []), page]);
    for (const row of rows) {
      const rowHex = row._id.toHexString();
      for (const page of byParent.get(String(row[parentPath])) ?? []) {
        // Two keys of one parent with different `after`s share rows; each takes only those beyond its own bound.
        const inRange =
          page.bound === null ||
          (direction === 1 ? rowHex > page.bound.toHexString() : rowHex < page.bound.toHexString());
        if (inRange && need(page) > 0) page.rows.push(row);
      }
    }
    const last = rows.length === limit ? rows.at(-1)! : null;
    const lastParent = last ? String(last[parentPath]) : '';
    for (const page of open) {
      if (last === null || need(page) <= 0) page.done = true;
      else if (!byParentOrder) page.bound = stricter(direction, page.bound, last._id);
      // In parent order the rows are a prefix: parents before the last row's are complete, later ones untouched.
      else if (page.parentHex < lastParent) page.done = true;
      else if (page.parentHex === lastParent) page.bound = stricter(direction, page.bound, last._id);
    }
  }
  // Starved by much busier parents in every round: one bounded query each.
  await Promise.all(
    pages.map(async (page) => {
      if (page === null || page.done) return;
      page.rows.push(...(await find(branch(page), need(page))));
    }),
  );
  return pages.map((page) =>
    page === null
      ? { edges: [], pageInfo: { hasNextPage: false, endCursor: null } }
      : toConnection(page.rows as unknown as T[], page.first),
  );
}

/** The per-request loader over `loadPages`: one batch per tick, at most MAX_CONNECTION_BATCH parents each. */
export function createBatchedConnectionLoader<T extends { _id: Types.ObjectId }>(
  model: Model<T>,
  options: BatchedConnectionOptions,
  onBatch?: BatchObserver,
): DataLoader<BatchedConnectionKey, Connection<T>, string> {
  const batch = (keys: readonly BatchedConnectionKey[]) => loadPages(model, keys, options);
  return new DataLoader<BatchedConnectionKey, Connection<T>, string>(
    observedBatch(batch, `${model.modelName}.${options.parentPath}`, onBatch),
    {
      // The fields are part of the key: a page loaded with fewer fields cannot serve a selection of more.
      cacheKeyFn: (key) =>
        `${key.id}:${key.page.first}:${key.page.after?.toHexString() ?? ''}:${key.fields?.join(',') ?? '*'}`,
      maxBatchSize: MAX_CONNECTION_BATCH,
    },
  );
}
