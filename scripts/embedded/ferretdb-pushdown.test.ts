/**
 * The embedded FerretDB is built with a filter pushdown of our own (tools/ferretdb/_overlay): top-level string
 * equalities and `$in`s become a SQL prefilter. A prefilter that drops a row MongoDB would match is silent data
 * loss, so every filter here must return exactly what the same filter returns with pushdown impossible — wrapped in
 * a top-level `$and`, which neither upstream nor our pushdown touches — over documents whose field is every shape
 * an equality could meet: strings with characters JSON escapes, arrays (which match on an element), arrays of
 * documents (which do not), numbers, null, missing, sub-documents, ObjectIDs.
 *
 * Against a real MongoDB (MONGODB_URI) the comparisons hold too; only the pushdown checks are FerretDB's.
 */
import mongoose from 'mongoose';
import { randomBytes } from 'node:crypto';

const { ObjectId } = mongoose.Types;
type Doc = Record<string, unknown>;

const STRINGS = [
  'acme',
  'globex',
  'a<b>&c', // Go's encoding/json escapes these as \u003c \u003e \u0026
  'quote"and\\backslash',
  'é unicode ✓',
  'line\u2028separator',
  'emoji 🦊',
  '',
  'ACME',
];
const OID = new ObjectId('64b7f0a1c2d3e4f5a6b7c8d9');

function documents(): Doc[] {
  const shapes: unknown[] = [
    ...STRINGS,
    ['acme', 'x'],
    ['x', 'a<b>&c'],
    [{ a: 'acme' }], // an array of documents: no element equals 'acme' (FerretDB stores no nested arrays)
    [],
    5,
    null,
    { a: 'acme' },
    true,
    OID,
  ];
  const docs: Doc[] = shapes.map((k, i) => ({ _id: `s${i}`, tenantId: i % 2 ? 'acme' : 'globex', k, n: i }));
  docs.push({ _id: 'missing', tenantId: 'acme', n: 100 });
  docs.push({ _id: OID, tenantId: 'acme', k: 'acme', n: 101 });
  docs.push({ _id: 'quote"and\\backslash', tenantId: 'acme', k: 'id-with-escapes', n: 102 });
  return docs;
}

const FILTERS: Doc[] = [
  ...STRINGS.map((s) => ({ k: s })),
  ...STRINGS.map((s) => ({ k: { $eq: s } })),
  { k: { $in: ['acme', 'a<b>&c', 'emoji 🦊'] } },
  { k: { $in: ['acme', /^glob/] } },
  { k: { $in: [] } },
  { k: { $eq: 'acme', $ne: 'x' } },
  { k: { $ne: 'acme' } },
  { k: 5 },
  { k: null },
  { k: { a: 'acme' } },
  { 'k.a': 'acme' },
  { k: OID },
  { tenantId: 'acme' },
  { tenantId: 'acme', k: 'acme' },
  { tenantId: 'acme', k: { $in: ['acme', 'globex'] }, n: { $gte: 3 } },
  { tenantId: 'acme', $or: [{ k: 'acme' }, { k: 'globex' }] },
  { _id: 's0' },
  { _id: 'quote"and\\backslash' },
  { _id: OID },
  { _id: { $in: ['s0', 's1', 'missing', 'nope'] } },
  { _id: { $in: ['s2', OID] } },
  { tenantId: 'acme', _id: { $in: ['s1', 's2', 's3'] } },
];

let connection: mongoose.Connection;
let collection: mongoose.mongo.Collection<Doc>;
let isFerretDB = false;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(process.env.TEST_MONGODB_URI!, { dbName: `pushdown_${randomBytes(4).toString('hex')}` })
    .asPromise();
  collection = connection.db!.collection<Doc>('shapes');
  await collection.insertMany(documents());
  const buildInfo = await connection.db!.admin().command({ buildInfo: 1 });
  isFerretDB = 'ferretdbVersion' in buildInfo;
});

afterAll(async () => {
  await connection.db?.dropDatabase();
  await connection.close();
});

const ids = (docs: Doc[]) => docs.map((d) => String(d._id)).sort();

test.each(
  FILTERS.map((filter) => [JSON.stringify(filter, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v)), filter]),
)('finds the same documents with and without pushdown: %s', async (_name, filter) => {
  const pushed = await collection.find(filter as Doc).toArray();
  const unpushed = await collection.find({ $and: [filter as Doc] }).toArray();
  expect(ids(pushed)).toEqual(ids(unpushed));
  // Counting, deleting and updating go through the same backend query.
  expect(await collection.countDocuments(filter as Doc)).toBe(unpushed.length);
});

test('the filters it pushes down select the right rows in the fixture (not a vacuous comparison)', async () => {
  expect(ids(await collection.find({ k: 'acme' }).toArray())).toEqual(['64b7f0a1c2d3e4f5a6b7c8d9', 's0', 's9']);
  expect(ids(await collection.find({ k: 'a<b>&c' }).toArray())).toEqual(['s10', 's2']);
  expect(ids(await collection.find({ k: { $in: ['acme', /^glob/] } }).toArray())).toEqual([
    '64b7f0a1c2d3e4f5a6b7c8d9',
    's0',
    's1',
    's9',
  ]);
});

test('a tenant-scoped filter is pushed down to SQLite (FerretDB only)', async () => {
  if (!isFerretDB) return;
  const explain = async (filter: Doc) =>
    (await connection.db!.command({ explain: { find: 'shapes', filter }, verbosity: 'queryPlanner' })) as Doc;
  expect(await explain({ tenantId: 'acme', _id: { $in: ['s1', 's2'] } })).toMatchObject({ filterPushdown: true });
  expect(await explain({ tenantId: 'acme', k: { $eq: 'acme' } })).toMatchObject({ filterPushdown: true });
  expect(await explain({ $and: [{ tenantId: 'acme' }] })).toMatchObject({ filterPushdown: false });
  expect(await explain({ k: { $in: ['acme', /^glob/] } })).toMatchObject({ filterPushdown: false });
});

test('updates and deletes by a pushed-down filter touch exactly the matching rows', async () => {
  const updated = await collection.updateMany({ tenantId: 'acme', k: 'acme' }, { $set: { touched: true } });
  expect(updated.modifiedCount).toBe(await collection.countDocuments({ $and: [{ tenantId: 'acme', k: 'acme' }] }));
  expect(ids(await collection.find({ touched: true }).toArray())).toEqual(['64b7f0a1c2d3e4f5a6b7c8d9', 's9']);
  const deleted = await collection.deleteMany({ tenantId: 'globex', k: { $in: ['acme', 'globex'] } });
  expect(deleted.deletedCount).toBe(1); // s0 ('acme'); 'globex' (s1) is acme's
});
