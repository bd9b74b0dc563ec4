/**
 * The one mongoose plugin every tenant-scoped model uses.
 *
 * Two layers, so that neither a forgotten filter nor a mongoose option can reach another tenant's documents:
 *
 * 1. It ADDS the tenant: every query, aggregation, insertMany and bulkWrite of the model gets `tenantId` from the
 *    request scope (see scope.ts) at the moment it executes, and new documents get it before validation. This is
 *    not done with schema hooks (`pre('find')` …): since mongoose 9.2 a caller can pass `{ middleware: false }`,
 *    which skips every user hook (lib/helpers/buildMiddlewareFilter.js). Instead the plugin replaces the model's
 *    query `exec`/`cursor` (schema query helpers are copied onto the model's own Query prototype, lib/model.js
 *    `applyQueryMethods`) and registers the scoping as a per-query `exec` hook, a Kareem instance that mongoose runs
 *    without any middleware filter; the statics `aggregate`, `insertMany` and `bulkWrite` are replaced likewise.
 * 2. It ASSERTS the tenant where mongoose meets the driver: the model's collection object (the one mongoose itself
 *    and `Model.collection` use) is wrapped so every data method checks that its filter, update, document or
 *    pipeline is scoped to the current tenant, and methods that cannot be scoped are refused. Document `save` with
 *    its hooks skipped, a query hook that rewrites the filter, or a direct `Model.collection.find()` all end here.
 *
 * Only the raw driver (`connection.getClient()`, `Model.collection.collection`) is out of reach; nothing in the
 * subgraphs uses it for tenant data.
 */
import mongoose, { type Model, type Query, type Schema } from 'mongoose';
import { assertTimeLeft, maxTimeMsLeft, withinDeadline } from './deadline';
import { TenantScopeError, currentTenant } from './scope';

export const TENANT_PATH = 'tenantId';

const GUARDED = Symbol('tollgate.tenantGuard');

function refuse(reason: string): never {
  throw new TenantScopeError(`tenant scope: ${reason}`);
}

const touchesTenant = (path: string) => path === TENANT_PATH || path.startsWith(`${TENANT_PATH}.`);

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every mention of `tenantId` in a filter, at any depth of `$and`/`$or`/`$nor`, must be the current tenant. */
function assertFilterMentions(filter: unknown, tenant: string): void {
  if (filter === undefined || filter === null) return;
  if (!isPlainRecord(filter)) refuse('filter is not an object');
  for (const [key, value] of Object.entries(filter)) {
    if (touchesTenant(key)) {
      if (value !== tenant) refuse('filter names another tenant');
    } else if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(value)) refuse('filter is malformed');
      for (const branch of value) assertFilterMentions(branch, tenant);
    }
  }
}

/** What reaches the driver: a filter whose top level pins the current tenant and names no other. */
function assertScopedFilter(filter: unknown, tenant: string): void {
  if (!isPlainRecord(filter) || filter[TENANT_PATH] !== tenant) refuse('filter is not scoped to the tenant');
  assertFilterMentions(filter, tenant);
}

/**
 * An update may not set, unset or rename `tenantId`. The one exception is `$setOnInsert` of the current tenant,
 * which an upsert may carry. Aggregation-pipeline updates cannot be checked and are refused.
 */
function assertUpdateKeepsTenant(update: unknown, tenant: string): void {
  if (update === undefined || update === null) return;
  if (!isPlainRecord(update)) refuse('update pipelines are not allowed');
  for (const [key, value] of Object.entries(update)) {
    if (!key.startsWith('$')) {
      if (touchesTenant(key)) refuse('an update may not change tenantId');
      continue;
    }
    if (!isPlainRecord(value)) continue;
    for (const [path, argument] of Object.entries(value)) {
      if (key === '$setOnInsert' && path === TENANT_PATH && argument === tenant) continue;
      if (touchesTenant(path)) refuse('an update may not change tenantId');
      if (key === '$rename' && typeof argument === 'string' && touchesTenant(argument)) {
        refuse('an update may not change tenantId');
      }
    }
  }
}

/** A new or replacement document: stamped with the current tenant, refused if it names another. */
function withTenant(doc: unknown, tenant: string): unknown {
  if (doc instanceof mongoose.Document) {
    const own: unknown = doc.get(TENANT_PATH);
    if (own === undefined || own === null) doc.set(TENANT_PATH, tenant);
    else if (own !== tenant) refuse('document belongs to another tenant');
    return doc;
  }
  if (!isPlainRecord(doc)) refuse('document is not an object');
  if (doc[TENANT_PATH] !== undefined && doc[TENANT_PATH] !== tenant) refuse('document belongs to another tenant');
  return { ...doc, [TENANT_PATH]: tenant };
}

function assertDocumentTenant(doc: unknown, tenant: string): void {
  if (!isPlainRecord(doc) || doc[TENANT_PATH] !== tenant) refuse('document is not scoped to the tenant');
}

/**
 * Aggregation stages that only transform the documents flowing in. `$lookup`, `$graphLookup` and `$unionWith`
 * read other documents, `$out` and `$merge` write, `$facet` nests pipelines: none of those are listed.
 */
const ALLOWED_STAGES = new Set([
  '$match',
  '$project',
  '$addFields',
  '$set',
  '$unset',
  '$sort',
  '$limit',
  '$skip',
  '$group',
  '$count',
  '$unwind',
  '$sortByCount',
  '$bucket',
  '$bucketAuto',
  '$replaceRoot',
  '$replaceWith',
  '$sample',
]);

function assertPipelineStages(pipeline: unknown, tenant: string): asserts pipeline is Record<string, unknown>[] {
  if (!Array.isArray(pipeline)) refuse('pipeline is not an array');
  for (const stage of pipeline) {
    if (!isPlainRecord(stage)) refuse('pipeline stage is malformed');
    const names = Object.keys(stage);
    if (names.length !== 1 || !ALLOWED_STAGES.has(names[0]!)) refuse('pipeline stage is not allowed');
    if (names[0] === '$match') assertFilterMentions(stage.$match, tenant);
  }
}

function isTenantMatch(stage: unknown, tenant: string): boolean {
  return isPlainRecord(stage) && isPlainRecord(stage.$match) && stage.$match[TENANT_PATH] === tenant;
}

function assertScopedPipeline(pipeline: unknown, tenant: string): void {
  assertPipelineStages(pipeline, tenant);
  if (!isTenantMatch(pipeline[0], tenant)) refuse('pipeline is not scoped to the tenant');
}

const BULK_FILTER_OPS = new Set(['updateOne', 'updateMany', 'replaceOne', 'deleteOne', 'deleteMany']);

function bulkOperation(op: unknown): [string, Record<string, unknown>] {
  if (!isPlainRecord(op)) refuse('bulk operation is malformed');
  const entries = Object.entries(op);
  const [entry] = entries;
  if (entries.length !== 1 || !entry || !isPlainRecord(entry[1])) refuse('bulk operation is malformed');
  return [entry[0], entry[1]];
}

/** Adds the tenant to one bulkWrite operation (layer 1). */
function scopeBulkOperation(op: unknown, tenant: string): Record<string, unknown> {
  const [kind, spec] = bulkOperation(op);
  if (kind === 'insertOne') return { insertOne: { ...spec, document: withTenant(spec.document, tenant) } };
  if (!BULK_FILTER_OPS.has(kind)) refuse('bulk operation is not allowed');
  assertFilterMentions(spec.filter, tenant);
  const scoped: Record<string, unknown> = {
    ...spec,
    filter: { ...(spec.filter as object | undefined), [TENANT_PATH]: tenant },
  };
  if (kind === 'updateOne' || kind === 'updateMany') assertUpdateKeepsTenant(spec.update, tenant);
  if (kind === 'replaceOne') scoped.replacement = withTenant(spec.replacement, tenant);
  return { [kind]: scoped };
}

/** Checks one bulkWrite operation as the driver receives it (layer 2). */
function assertBulkOperation(op: unknown, tenant: string): void {
  const [kind, spec] = bulkOperation(op);
  if (kind === 'insertOne') return assertDocumentTenant(spec.document, tenant);
  if (!BULK_FILTER_OPS.has(kind)) refuse('bulk operation is not allowed');
  assertScopedFilter(spec.filter, tenant);
  if (kind === 'updateOne' || kind === 'updateMany') assertUpdateKeepsTenant(spec.update, tenant);
  if (kind === 'replaceOne') assertDocumentTenant(spec.replacement, tenant);
}

// ---------------------------------------------------------------------------------------------------------------
// Layer 1: queries, aggregations and model statics add the tenant.

const SCOPED_QUERY_OPS = new Set([
  'find',
  'findOne',
  'countDocuments',
  'distinct',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
  'findOneAndUpdate',
  'findOneAndDelete',
  'findOneAndReplace',
]);
/**
 * Operations that get `maxTimeMS` from the request's deadline. Not the findOneAnd* ones: FerretDB answers their
 * time limit with an InternalError rather than MaxTimeMSExpired; the race against the deadline bounds them.
 */
const TIME_LIMITED_QUERY_OPS = new Set(['find', 'findOne', 'countDocuments', 'distinct']);
const UPDATE_QUERY_OPS = new Set(['updateOne', 'updateMany', 'findOneAndUpdate']);
const REPLACE_QUERY_OPS = new Set(['replaceOne', 'findOneAndReplace']);

type AnyQuery = Query<unknown, unknown>;

/** The operation a query will run; set by `find()`, `updateOne()` … and missing from mongoose's typings. */
function operationOf(query: AnyQuery): string | undefined {
  return (query as unknown as { op?: string }).op;
}

function scopeQuery(query: AnyQuery): void {
  const tenant = currentTenant();
  const op = operationOf(query);
  // `estimatedDocumentCount` reads collection metadata: it has no filter to scope.
  if (op === undefined || !SCOPED_QUERY_OPS.has(op)) refuse('this operation cannot be scoped to a tenant');
  const filter: unknown = query.getFilter();
  assertFilterMentions(filter, tenant);
  query.setQuery({ ...(filter as object), [TENANT_PATH]: tenant });
  if (UPDATE_QUERY_OPS.has(op)) assertUpdateKeepsTenant(query.getUpdate(), tenant);
  if (REPLACE_QUERY_OPS.has(op)) query.setUpdate(withTenant(query.getUpdate(), tenant) as Record<string, unknown>);
  if (TIME_LIMITED_QUERY_OPS.has(op)) limitTime(query.getOptions(), (ms) => query.maxTimeMS(ms));
}

/** Sets `maxTimeMS` to the time the request has left, unless the operation already asks for less. */
function limitTime(options: { maxTimeMS?: unknown }, set: (ms: number) => void): void {
  const left = maxTimeMsLeft();
  if (left !== undefined && !(typeof options.maxTimeMS === 'number' && options.maxTimeMS <= left)) set(left);
}

const baseExec = mongoose.Query.prototype.exec as (this: AnyQuery, ...args: unknown[]) => Promise<unknown>;
const baseCursor = mongoose.Query.prototype.cursor as (this: AnyQuery, ...args: unknown[]) => unknown;

function scopedExec(this: AnyQuery, ...args: unknown[]): Promise<unknown> {
  // Registered at exec time so that it runs after any exec hook added earlier (a document's deleteOne adds its
  // `_id` filter that way) and therefore sees the final filter.
  this.pre(() => scopeQuery(this));
  // The deadline (kit/deadline.ts) rides here and in the collection guard: a query is settled by it at the latest.
  return withinDeadline(baseExec.apply(this, args));
}

function scopedCursor(this: AnyQuery, ...args: unknown[]): unknown {
  // A query cursor never goes through exec.
  scopeQuery(this);
  return baseCursor.apply(this, args);
}

type AnyAggregate = mongoose.Aggregate<unknown[]>;

function scopePipeline(aggregate: AnyAggregate): void {
  const tenant = currentTenant();
  const pipeline: unknown = aggregate.pipeline();
  assertPipelineStages(pipeline, tenant);
  if (!isTenantMatch(pipeline[0], tenant)) pipeline.unshift({ $match: { [TENANT_PATH]: tenant } });
  limitTime(aggregate.options, (ms) => aggregate.option({ maxTimeMS: ms }));
}

function scopedAggregate(this: Model<unknown>, ...args: unknown[]): AnyAggregate {
  const aggregate = Reflect.apply(mongoose.Model.aggregate, this, args) as AnyAggregate;
  const { exec, explain, cursor } = mongoose.Aggregate.prototype;
  // The pipeline can still grow after this call (`.append()`, `.match()`), so it is checked and scoped when it
  // runs; `then` and async iteration go through these methods too.
  Object.defineProperties(aggregate, {
    exec: {
      async value(this: AnyAggregate) {
        scopePipeline(this);
        return withinDeadline(exec.call(this));
      },
    },
    explain: {
      async value(this: AnyAggregate, ...runnerArgs: Parameters<AnyAggregate['explain']>) {
        scopePipeline(this);
        return explain.apply(this, runnerArgs);
      },
    },
    cursor: {
      value(this: AnyAggregate, ...runnerArgs: Parameters<AnyAggregate['cursor']>) {
        scopePipeline(this);
        return cursor.apply(this, runnerArgs);
      },
    },
  });
  return aggregate;
}

async function scopedInsertMany(this: Model<unknown>, docs: unknown, ...rest: unknown[]): Promise<unknown> {
  const tenant = currentTenant();
  const scoped = (Array.isArray(docs) ? docs : [docs]).map((doc) => withTenant(doc, tenant));
  return Reflect.apply(mongoose.Model.insertMany, this, [scoped, ...rest]) as Promise<unknown>;
}

async function scopedBulkWrite(this: Model<unknown>, ops: unknown, ...rest: unknown[]): Promise<unknown> {
  const tenant = currentTenant();
  if (!Array.isArray(ops)) refuse('bulk operations are not an array');
  const scoped = ops.map((op) => scopeBulkOperation(op, tenant));
  return Reflect.apply(mongoose.Model.bulkWrite, this, [scoped, ...rest]) as Promise<unknown>;
}

function refusedWatch(): never {
  // A change stream outlives the request and spans every tenant of the collection.
  refuse('change streams cannot be scoped to a tenant');
}

// ---------------------------------------------------------------------------------------------------------------
// Layer 2: the collection asserts.

type DriverCheck = (args: unknown[], tenant: string) => void;

const filterAt =
  (index: number): DriverCheck =>
  (args, tenant) =>
    assertScopedFilter(args[index], tenant);
const update: DriverCheck = (args, tenant) => {
  assertScopedFilter(args[0], tenant);
  assertUpdateKeepsTenant(args[1], tenant);
};
const replace: DriverCheck = (args, tenant) => {
  assertScopedFilter(args[0], tenant);
  assertDocumentTenant(args[1], tenant);
};

/** Driver methods that touch documents, with their check. Metadata methods need no tenant. */
const DRIVER_CHECKS: Record<string, DriverCheck | 'metadata'> = {
  find: filterAt(0),
  findOne: filterAt(0),
  countDocuments: filterAt(0),
  count: filterAt(0),
  deleteOne: filterAt(0),
  deleteMany: filterAt(0),
  findOneAndDelete: filterAt(0),
  distinct: filterAt(1),
  updateOne: update,
  updateMany: update,
  findOneAndUpdate: update,
  replaceOne: replace,
  findOneAndReplace: replace,
  insertOne: (args, tenant) => assertDocumentTenant(args[0], tenant),
  insertMany: (args, tenant) => {
    if (!Array.isArray(args[0])) refuse('documents are not an array');
    for (const doc of args[0]) assertDocumentTenant(doc, tenant);
  },
  bulkWrite: (args, tenant) => {
    if (!Array.isArray(args[0])) refuse('bulk operations are not an array');
    for (const op of args[0]) assertBulkOperation(op, tenant);
  },
  aggregate: (args, tenant) => assertScopedPipeline(args[0], tenant),
  options: 'metadata',
  isCapped: 'metadata',
  createIndex: 'metadata',
  createIndexes: 'metadata',
  dropIndex: 'metadata',
  dropIndexes: 'metadata',
  listIndexes: 'metadata',
  indexExists: 'metadata',
  indexInformation: 'metadata',
  indexes: 'metadata',
  listSearchIndexes: 'metadata',
};

/** The driver's collection methods, which mongoose copies onto its collection class. */
const DRIVER_METHODS = Object.getOwnPropertyNames(mongoose.mongo.Collection.prototype).filter(
  (name) =>
    name !== 'constructor' &&
    typeof Object.getOwnPropertyDescriptor(mongoose.mongo.Collection.prototype, name)?.value === 'function',
);

function guardCollection(collection: mongoose.Collection): void {
  const target = collection as unknown as Record<string | symbol, unknown>;
  if (target[GUARDED]) return;
  for (const name of DRIVER_METHODS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    const check = DRIVER_CHECKS[name];
    Object.defineProperty(target, name, {
      value(this: unknown, ...args: unknown[]) {
        // Methods missing from the table (estimatedDocumentCount, watch, drop, rename, bulk op builders, search
        // index changes, and whatever a future driver adds) are refused: they cannot be scoped.
        if (check === undefined) refuse('this collection method cannot be scoped to a tenant');
        if (check === 'metadata') return (original as (...a: unknown[]) => unknown).apply(this, args);
        check(args, currentTenant());
        // Past the request's deadline nothing reaches the database — no write for a client that is gone — and
        // what does is settled by the deadline at the latest (a cursor, by the query or aggregate that reads it).
        assertTimeLeft();
        const result = (original as (...a: unknown[]) => unknown).apply(this, args);
        return result instanceof Promise ? withinDeadline(result) : result;
      },
    });
  }
  Object.defineProperty(target, GUARDED, { value: true });
}

/** True when the model's collection carries the guard, i.e. the model was built from a schema with this plugin. */
export function isTenantScoped(model: Model<unknown>): boolean {
  return (model.collection as unknown as Record<symbol, unknown>)[GUARDED] === true;
}

// ---------------------------------------------------------------------------------------------------------------

export function tenantPlugin(schema: Schema): void {
  schema.add({ [TENANT_PATH]: { type: String, required: true, immutable: true } });
  // Every query carries the tenant, so every index starts with it; this one serves lookups by id.
  schema.index({ [TENANT_PATH]: 1, _id: 1 });
  // An unknown path throws instead of being silently dropped: in a filter (a misspelt, dropped predicate matches
  // everything), in a document and in an update (an immutable `tenantId` would otherwise be dropped quietly too).
  schema.set('strictQuery', 'throw');
  schema.set('strict', 'throw');
  // Mongoose's own sharding support then adds `tenantId` to the filter of `doc.save()`, `doc.updateOne()` and
  // `doc.deleteOne()` on existing documents; its hooks are built-in and run even with `{ middleware: false }`.
  schema.set('shardKey', { [TENANT_PATH]: 1 });

  schema.pre('validate', function stampTenant() {
    const tenant = currentTenant();
    const own: unknown = this.get(TENANT_PATH);
    if (own === undefined || own === null) {
      if (!this.isNew) refuse('document has no tenant');
      this.set(TENANT_PATH, tenant);
    } else if (own !== tenant) {
      refuse('document belongs to another tenant');
    }
  });

  Object.assign(schema.query, { exec: scopedExec, cursor: scopedCursor });
  schema.static('aggregate', scopedAggregate);
  schema.static('insertMany', scopedInsertMany);
  schema.static('bulkWrite', scopedBulkWrite);
  schema.static('watch', refusedWatch);

  // Emitted by Model.init(), which connection.model() calls synchronously right after compiling the model.
  schema.on('init', (model: Model<unknown>) => guardCollection(model.collection));
}
