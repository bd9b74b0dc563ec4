import mongoose, { Schema, Types, type Connection, type Model } from 'mongoose';
import { accounts, inventory, products, reviews } from '../definitions';
import { openDatabase, registerModels } from './database';
import { TenantScopeError, currentTenant } from './scope';
import { inTenant, testMongoUri, uniqueDbName } from './testing';
import { tenantPlugin } from './tenant-plugin';

interface Widget {
  _id: Types.ObjectId;
  tenantId: string;
  sku: string;
  qty: number;
}

let connection: Connection;
let Widget: Model<Widget>;
let acmeId: Types.ObjectId;
let globexId: Types.ObjectId;

const acme = <T>(fn: () => PromiseLike<T> | T) => inTenant('acme', fn);
const globex = <T>(fn: () => PromiseLike<T> | T) => inTenant('globex', fn);
const refused = expect.objectContaining({ name: 'TenantScopeError' });

beforeAll(async () => {
  connection = await openDatabase({ mongoUri: testMongoUri(), dbName: uniqueDbName('plugin') });
  Widget = await registerModels(connection, (c) => {
    const schema = new Schema<Widget>(
      { sku: { type: String, required: true }, qty: { type: Number, required: true } },
      { versionKey: false },
    );
    schema.plugin(tenantPlugin);
    schema.index({ tenantId: 1, sku: 1 }, { unique: true });
    return c.model<Widget>('Widget', schema);
  });
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

beforeEach(async () => {
  await acme(() => Widget.deleteMany({}));
  await globex(() => Widget.deleteMany({}));
  acmeId = (await acme(() => Widget.create({ sku: 'SHARED', qty: 1 })))._id;
  await acme(() => Widget.create({ sku: 'ACME-ONLY', qty: 2 }));
  globexId = (await globex(() => Widget.create({ sku: 'SHARED', qty: 5 })))._id;
});

/** The globex document, read as globex, to prove an acme operation left it alone. */
const globexWidget = () => globex(() => Widget.findById(globexId).lean().exec());

describe('new documents', () => {
  test('get the scope tenant before validation, and tenantId is required, immutable and stored', async () => {
    const doc = await acme(() => Widget.create({ sku: 'NEW', qty: 1 }));
    expect(doc.tenantId).toBe('acme');
    const raw = await connection.db!.collection('widgets').findOne({ _id: doc._id });
    expect(raw?.tenantId).toBe('acme');
    expect(Widget.schema.path('tenantId').options).toMatchObject({ required: true, immutable: true });
  });

  test('naming another tenant is refused', async () => {
    await expect(acme(() => Widget.create({ sku: 'X', qty: 1, tenantId: 'globex' }))).rejects.toEqual(refused);
  });

  test('insertMany stamps every document and refuses another tenant', async () => {
    const docs = await acme(() =>
      Widget.insertMany([
        { sku: 'M1', qty: 1 },
        { sku: 'M2', qty: 1 },
      ]),
    );
    expect(docs.map((d) => d.tenantId)).toEqual(['acme', 'acme']);
    await expect(acme(() => Widget.insertMany([{ sku: 'M3', qty: 1, tenantId: 'globex' }]))).rejects.toEqual(refused);
  });

  test('the same unique key may exist once per tenant', async () => {
    await expect(acme(() => Widget.create({ sku: 'SHARED', qty: 9 }))).rejects.toMatchObject({ code: 11000 });
    expect(await globex(() => Widget.countDocuments({ sku: 'SHARED' }).exec())).toBe(1);
  });
});

describe('reads see only the scope tenant', () => {
  test('find, findOne, findById, countDocuments, distinct, exists', async () => {
    await acme(async () => {
      expect((await Widget.find({}).lean().exec()).map((w) => w.sku).sort()).toEqual(['ACME-ONLY', 'SHARED']);
      expect((await Widget.findOne({ sku: 'SHARED' }).lean().exec())?._id).toEqual(acmeId);
      expect(await Widget.findById(globexId).exec()).toBeNull();
      expect(await Widget.countDocuments({}).exec()).toBe(2);
      expect((await Widget.distinct('qty').exec()).sort()).toEqual([1, 2]);
      expect(await Widget.exists({ _id: globexId })).toBeNull();
    });
  });

  test('query cursors are scoped', async () => {
    const skus = await acme(async () => {
      const seen: string[] = [];
      for await (const doc of Widget.find({}).cursor()) seen.push(doc.sku);
      return seen.sort();
    });
    expect(skus).toEqual(['ACME-ONLY', 'SHARED']);
  });

  test('aggregate gets a leading $match on the tenant, also through cursor()', async () => {
    const total = await acme(() =>
      Widget.aggregate<{ total: number }>([{ $group: { _id: null, total: { $sum: '$qty' } } }]).exec(),
    );
    expect(total).toEqual([{ _id: null, total: 3 }]);
    const viaCursor = await acme(async () => {
      const rows: unknown[] = [];
      for await (const row of Widget.aggregate([{ $match: { sku: 'SHARED' } }]).cursor()) rows.push(row);
      return rows;
    });
    expect(viaCursor).toEqual([expect.objectContaining({ _id: acmeId, tenantId: 'acme' })]);
  });

  test.each(['$out', '$merge', '$unionWith', '$lookup', '$graphLookup', '$facet'])(
    'aggregate refuses %s',
    async (stage) => {
      const pipeline = [{ $match: {} }, { [stage]: { from: 'widgets' } }] as mongoose.PipelineStage[];
      await expect(acme(() => Widget.aggregate(pipeline).exec())).rejects.toEqual(refused);
    },
  );

  test('estimatedDocumentCount and change streams are refused', async () => {
    await expect(acme(() => Widget.estimatedDocumentCount().exec())).rejects.toEqual(refused);
    await expect(acme(() => Widget.watch())).rejects.toEqual(refused);
  });
});

describe('writes reach only the scope tenant', () => {
  test('updateOne, updateMany, findOneAndUpdate by another tenant’s id or key change nothing', async () => {
    await acme(async () => {
      expect((await Widget.updateOne({ _id: globexId }, { $set: { qty: 99 } }).exec()).matchedCount).toBe(0);
      expect((await Widget.updateMany({ sku: 'SHARED' }, { $inc: { qty: 10 } }).exec()).matchedCount).toBe(1);
      expect(await Widget.findOneAndUpdate({ _id: globexId }, { $set: { qty: 99 } }).exec()).toBeNull();
    });
    expect((await globexWidget())?.qty).toBe(5);
    expect((await acme(() => Widget.findById(acmeId).lean().exec()))?.qty).toBe(11);
  });

  test('replaceOne and findOneAndReplace keep the tenant and cannot reach another', async () => {
    await acme(async () => {
      expect((await Widget.replaceOne({ _id: globexId }, { sku: 'SHARED', qty: 0 }).exec()).matchedCount).toBe(0);
      expect((await Widget.replaceOne({ _id: acmeId }, { sku: 'SHARED', qty: 7 }).exec()).modifiedCount).toBe(1);
      expect(await Widget.findOneAndReplace({ _id: globexId }, { sku: 'SHARED', qty: 0 }).exec()).toBeNull();
    });
    expect(await connection.db!.collection('widgets').findOne({ _id: acmeId })).toMatchObject({
      tenantId: 'acme',
      qty: 7,
    });
    expect((await globexWidget())?.qty).toBe(5);
  });

  test('deleteOne, deleteMany, findOneAndDelete cannot delete another tenant’s documents', async () => {
    await acme(async () => {
      expect((await Widget.deleteOne({ _id: globexId }).exec()).deletedCount).toBe(0);
      expect(await Widget.findOneAndDelete({ _id: globexId }).exec()).toBeNull();
      expect((await Widget.deleteMany({}).exec()).deletedCount).toBe(2);
    });
    expect(await globexWidget()).not.toBeNull();
  });

  test('bulkWrite scopes every operation', async () => {
    const result = await acme(() =>
      Widget.bulkWrite([
        { insertOne: { document: { sku: 'BULK', qty: 1 } } },
        { updateMany: { filter: {}, update: { $inc: { qty: 100 } } } },
        { updateOne: { filter: { _id: globexId }, update: { $set: { qty: 0 } } } },
        { deleteOne: { filter: { _id: globexId } } },
        { replaceOne: { filter: { _id: globexId }, replacement: { sku: 'SHARED', qty: 0 } } },
      ]),
    );
    expect(result).toMatchObject({ insertedCount: 1, matchedCount: 3, deletedCount: 0 });
    expect((await globexWidget())?.qty).toBe(5);
    await expect(
      acme(() => Widget.bulkWrite([{ insertOne: { document: { sku: 'B2', qty: 1, tenantId: 'globex' } } }])),
    ).rejects.toEqual(refused);
  });

  test('document save, updateOne and deleteOne filter on the tenant and refuse a document of another tenant', async () => {
    const own = await acme(async () => {
      const doc = (await Widget.findById(acmeId).exec())!;
      doc.qty = 42;
      await doc.save();
      await doc.updateOne({ $set: { qty: 43 } }).exec();
      return Widget.findById(acmeId).lean().exec();
    });
    expect(own?.qty).toBe(43);

    const foreign = (await globex(() => Widget.findById(globexId).exec()))!;
    foreign.qty = 0;
    await expect(acme(() => foreign.save())).rejects.toEqual(refused);
    await expect(acme(() => foreign.updateOne({ $set: { qty: 0 } }).exec())).rejects.toEqual(refused);
    await expect(acme(() => foreign.deleteOne())).rejects.toEqual(refused);
    expect((await globexWidget())?.qty).toBe(5);
  });
});

describe('refusals', () => {
  const changesTenant: [string, mongoose.UpdateQuery<Widget>][] = [
    ['$set', { $set: { tenantId: 'globex' } }],
    ['$set of the same tenant', { $set: { tenantId: 'acme' } }],
    ['top-level key', { tenantId: 'globex' } as mongoose.UpdateQuery<Widget>],
    ['$unset', { $unset: { tenantId: 1 } }],
    ['$rename from', { $rename: { tenantId: 'owner' } }],
    ['$rename to', { $rename: { sku: 'tenantId' } }],
    ['$setOnInsert of another tenant', { $setOnInsert: { tenantId: 'globex' } }],
  ];

  test.each(changesTenant)(
    'an update that touches tenantId (%s) is refused by every update path',
    async (_label, update) => {
      await expect(acme(() => Widget.updateOne({ _id: acmeId }, update).exec())).rejects.toEqual(refused);
      await expect(acme(() => Widget.updateMany({}, update).exec())).rejects.toEqual(refused);
      await expect(acme(() => Widget.findOneAndUpdate({ _id: acmeId }, update).exec())).rejects.toEqual(refused);
      await expect(acme(() => Widget.bulkWrite([{ updateOne: { filter: { _id: acmeId }, update } }]))).rejects.toEqual(
        refused,
      );
    },
  );

  test('a replacement naming another tenant is refused', async () => {
    await expect(
      acme(() => Widget.replaceOne({ _id: acmeId }, { sku: 'S', qty: 1, tenantId: 'globex' }).exec()),
    ).rejects.toEqual(refused);
  });

  test('update pipelines are refused', async () => {
    // Mongoose itself refuses them unless asked; asked, the plugin still does.
    const update = [{ $set: { tenantId: 'globex' } }];
    await expect(
      acme(() => Widget.updateOne({ _id: acmeId }, update, { updatePipeline: true }).exec()),
    ).rejects.toEqual(refused);
  });

  test.each([
    ['another tenant', { tenantId: 'globex' }],
    ['another tenant inside $or', { $or: [{ sku: 'SHARED' }, { tenantId: 'globex' }] }],
    ['an operator on tenantId', { tenantId: mongoose.trusted({ $ne: 'acme' }) }],
  ])('a filter naming %s is refused', async (_label, filter) => {
    await expect(acme(() => Widget.find(filter).exec())).rejects.toEqual(refused);
    await expect(acme(() => Widget.deleteMany(filter).exec())).rejects.toEqual(refused);
    await expect(acme(() => Widget.aggregate([{ $match: filter }]).exec())).rejects.toEqual(refused);
  });

  test('naming the scope tenant is allowed', async () => {
    expect(await acme(() => Widget.countDocuments({ tenantId: 'acme' }).exec())).toBe(2);
  });

  test('refusal messages carry no data', async () => {
    const error = await acme(() => Widget.find({ tenantId: 'globex' }).exec()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenantScopeError);
    expect((error as Error).message).not.toMatch(/globex|acme|widget/i);
  });

  test('every operation without a tenant in scope throws', async () => {
    const attempts: (() => Promise<unknown>)[] = [
      () => Widget.find({}).exec(),
      () => Widget.findById(acmeId).exec(),
      () => Widget.countDocuments({}).exec(),
      () => Widget.updateMany({}, { $set: { qty: 0 } }).exec(),
      () => Widget.deleteMany({}).exec(),
      () => Widget.aggregate([{ $match: {} }]).exec(),
      () => Widget.create({ sku: 'NOPE', qty: 1 }),
      () => Widget.insertMany([{ sku: 'NOPE', qty: 1 }]),
      () => Widget.bulkWrite([{ deleteMany: { filter: {} } }]),
      async () => Widget.collection.find({ tenantId: 'acme' }).toArray(),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toEqual(refused);
    expect(() => currentTenant()).toThrow(TenantScopeError);
    expect(await acme(() => Widget.countDocuments({}).exec())).toBe(2);
  });
});

describe('cannot be bypassed', () => {
  test('{ middleware: false } still scopes queries, updates, deletes and aggregations', async () => {
    const noHooks = { middleware: false } as const;
    await acme(async () => {
      expect(await Widget.find({}, null, noHooks).lean().exec()).toHaveLength(2);
      expect(await Widget.findById(globexId, null, noHooks).exec()).toBeNull();
      expect(await Widget.countDocuments({}).setOptions(noHooks).exec()).toBe(2);
      expect((await Widget.updateMany({}, { $set: { qty: 0 } }, noHooks).exec()).matchedCount).toBe(2);
      expect(
        await Widget.aggregate([{ $match: {} }])
          .option(noHooks)
          .exec(),
      ).toHaveLength(2);
      expect((await Widget.deleteMany({}, noHooks).exec()).deletedCount).toBe(2);
    });
    expect((await globexWidget())?.qty).toBe(5);
  });

  test('{ middleware: false } cannot save, insert or bulk-write into another tenant', async () => {
    const foreign = new Widget({ sku: 'SNEAK', qty: 1, tenantId: 'globex' });
    await expect(acme(() => foreign.save({ middleware: false, validateBeforeSave: false }))).rejects.toEqual(refused);
    await expect(
      acme(() => Widget.insertMany([{ sku: 'SNEAK', qty: 1, tenantId: 'globex' }], { lean: true, middleware: false })),
    ).rejects.toEqual(refused);
    expect(await globex(() => Widget.countDocuments({ sku: 'SNEAK' }).exec())).toBe(0);
  });

  test('the collection refuses unscoped calls, including Model.collection used directly', async () => {
    await expect(acme(async () => Widget.collection.find({}).toArray())).rejects.toEqual(refused);
    await expect(
      acme(() => Widget.collection.updateMany({ tenantId: 'globex' }, { $set: { qty: 0 } })),
    ).rejects.toEqual(refused);
    await expect(acme(() => Widget.collection.insertOne({ sku: 'RAW', qty: 1 }))).rejects.toEqual(refused);
    await expect(acme(() => Widget.collection.estimatedDocumentCount())).rejects.toEqual(refused);
    await expect(acme(async () => Widget.collection.aggregate([{ $match: {} }]).toArray())).rejects.toEqual(refused);
    expect(await acme(() => Widget.collection.countDocuments({ tenantId: 'acme' }))).toBe(2);
  });

  test('a query built outside the model’s own Query class reaches the collection unscoped and is refused there', async () => {
    // mongoose's typings do not declare the constructor's arguments.
    const bare = (
      Reflect.construct(mongoose.Query, [{}, {}, Widget, Widget.collection]) as mongoose.Query<unknown, Widget>
    ).find({});
    await expect(acme(() => bare.exec())).rejects.toEqual(refused);
  });

  test('strictQuery throws on an unknown path instead of dropping it', async () => {
    await expect(acme(() => Widget.find({ tenantID: 'acme' }).exec())).rejects.toMatchObject({
      name: 'StrictModeError',
    });
  });

  test('sanitizeFilter turns client-style operators into literal values instead of applying them', async () => {
    const clientJson = JSON.parse('{"sku":{"$ne":"nothing"}}') as Record<string, unknown>;
    // `{ $eq: { $ne: … } }` is no string, so the query fails to cast rather than matching every document.
    await expect(acme(() => Widget.find(clientJson).exec())).rejects.toMatchObject({ name: 'CastError' });
  });
});

test('every index of every subgraph model starts with tenantId', async () => {
  const definitions = [accounts, products, inventory, reviews];
  for (const definition of definitions) {
    const db = await openDatabase({ mongoUri: testMongoUri(), dbName: uniqueDbName(`idx_${definition.name}`) });
    try {
      await registerModels(db, (c) => definition.models(c));
      for (const model of Object.values(db.models)) {
        const indexes = (await model.listIndexes()) as { key: Record<string, number> }[];
        const keys = indexes.map((index) => Object.keys(index.key)).filter((key) => key.join() !== '_id');
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) expect(key[0]).toBe('tenantId');
      }
    } finally {
      await db.dropDatabase();
      await db.close();
    }
  }
});
