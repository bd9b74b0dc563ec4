/**
 * The platform API of a subgraph: `POST /_platform/<operation>`, for the operator's CLI only (tenant onboarding,
 * export, import, erase, retention). Each subgraph owns its data, so these are the only way the CLI touches it.
 *
 * Every request carries a platform token (common/platform-token.ts) for this subgraph, this operation, one tenant
 * and the SHA-256 of the exact body; the tenant in the body must be the token's. A gateway request token is refused
 * (another key, prefix and audience). Refusals are the gateway's: 401 UNAUTHENTICATED with no reason given.
 *
 * Placement (kit/placement.ts): every operation but `erase` names the tenant's placement in the signed body, as the
 * CLI read it from the control plane — the same source, and the same epoch guard, as a gateway request's signed
 * `plc` claim. So a silo tenant is served from its own database by the same models and connection pool, and a call
 * made with a placement older than one this process has already served the tenant at (a `tenant move` switched it
 * meanwhile) is refused: 409 STALE_PLACEMENT, nothing read or written. `erase` takes no placement: it reaches every
 * copy — the tenant's documents in the shared collections and its silo database, whichever the control plane names
 * (leftovers of an interrupted move included) — and drops the silo database once empty.
 */
import type { FieldCipher } from '../encryption/field-cipher';
import type { EncryptedCollection } from '../encryption/reencrypt';
import { sealedFields } from './sealed';
import type { RequestHandler, Response } from 'express';
import type { Connection } from 'mongoose';
import mongoose from 'mongoose';
import { isTenantId } from '../../../common/ids';
import type { Logger } from '../../../common/logger';
import {
  PLATFORM_OPERATIONS,
  PLATFORM_TOKEN_HEADER,
  PlatformTokenError,
  verifyPlatformToken,
  type PlatformOperation,
} from '../../../common/platform-token';
import { isPlacementClaim } from '../../../common/internal-token';
import { isDatabaseUnavailable } from '../deadline';
import { StalePlacementError, type Placement, type Placements } from '../placement';
import {
  MAX_IMPORT_BATCH,
  asPlatform,
  type PlacedEraseResult,
  type SiloErasure,
  collectionStats,
  eraseCollection,
  exportCursor,
  importBatch,
  ownedCollections,
  platformRequestId,
  sweepCollection,
} from './operations';

/** What a subgraph adds to the generic operations. */
export interface PlatformHooks<TModels> {
  /** `provision`: creates what a new tenant needs here (accounts: its first admin), idempotently; runs in scope. */
  provision?(models: TModels, input: unknown, services: PlatformServices): Promise<unknown>;
  /** Collections whose `_id`s are ObjectIds minted at insert time, so their age is known: retention may sweep them. */
  readonly agedCollections?: readonly string[];
}

/** What a hook may use besides the models: the subgraph's field cipher (kit/encryption), to store what it seals. */
export interface PlatformServices {
  readonly cipher: FieldCipher;
}

export interface PlatformApiOptions<TModels> {
  /** This subgraph's platform key (derivePlatformKey of its internal key). */
  key: Buffer;
  subgraph: string;
  connection: Connection;
  /** Where each tenant's documents are (kit/placement.ts): the shared database's models, or its silo's. */
  placements: Placements<TModels>;
  hooks?: PlatformHooks<TModels>;
  /** The subgraph's field cipher; CLEAR_FIELDS when encryption is off. */
  cipher: FieldCipher;
  /** The collections and fields the cipher seals (SubgraphDefinition.encrypted): opened in exports (sealed.ts). */
  encrypted?: readonly EncryptedCollection[];
  logger: Logger;
  /** Told how many documents a sweep or an erasure deleted, or an import wrote (the subgraph's metrics). */
  onDocuments?(operation: 'sweep' | 'erase' | 'import', collection: string, count: number): void;
}

/** The body limit of platform calls: an import batch of MAX_IMPORT_BATCH documents fits. */
export const PLATFORM_BODY_LIMIT = '16mb';
const MAX_TOKEN_LENGTH = 4096;
const MAX_SWEEP_RULES = 50;
const VALIDATION_ERRORS = new Set(['ValidationError', 'CastError', 'MongooseBulkWriteError']);

/** Refused input of a platform call: 400 BAD_USER_INPUT with this message (never data). */
export class PlatformInputError extends Error {}

function fail(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function platformApi<TModels>(options: PlatformApiOptions<TModels>): RequestHandler {
  const { key, subgraph, connection, placements, hooks, logger, cipher, encrypted } = options;
  const sealedOf = (model: { collection: { collectionName: string } }, tenant: string) =>
    sealedFields(cipher, encrypted, model.collection.collectionName, tenant);
  const counted = options.onDocuments ?? (() => undefined);
  const pooledCollections = ownedCollections(connection);

  /** The tenant's placement named in the body, admitted by the epoch guard; throws when missing or stale. */
  const placementOf = (tenant: string, body: Record<string, unknown>): Placement => {
    if (!isPlacementClaim(body.placement))
      throw new PlatformInputError('placement must be { tier: "pooled" | "silo", epoch }');
    placements.admit(tenant, body.placement);
    return body.placement;
  };

  const run = async (op: PlatformOperation, tenant: string, body: Record<string, unknown>, res: Response) => {
    if (op === 'erase') return void res.json(await erase(tenant));
    const placement = placementOf(tenant, body);
    const collections = ownedCollections(await placements.connectionFor(tenant, placement));
    const modelOf = (name: unknown) => {
      const model = typeof name === 'string' ? collections.get(name) : undefined;
      if (!model) throw new PlatformInputError('unknown collection');
      return model;
    };
    switch (op) {
      case 'provision': {
        if (!hooks?.provision) throw new PlatformInputError('this subgraph provisions nothing');
        const models = await placements.modelsFor(tenant, placement);
        return void res.json({ subgraph, result: await hooks.provision(models, body.input, { cipher }) });
      }
      case 'stats': {
        const stats = [];
        for (const model of collections.values())
          stats.push(await collectionStats(model, tenant, (doc) => sealedOf(model, tenant).open(doc)));
        return void res.json({ subgraph, collections: stats });
      }
      case 'export': {
        const model = modelOf(body.collection);
        const sealed = sealedOf(model, tenant);
        const cursor = exportCursor(model);
        res.status(200).type('application/x-ndjson');
        let closed = false;
        res.on('close', () => {
          closed = true;
        });
        try {
          // Backpressure: a slow reader pauses the cursor, so memory holds one batch whatever the collection's size.
          for await (const doc of cursor) {
            if (closed) break;
            const portable = await sealed.open(doc as Record<string, unknown>);
            if (!res.write(`${mongoose.mongo.BSON.EJSON.stringify(portable, { relaxed: true })}\n`))
              await drainOrClose(res);
          }
        } finally {
          await cursor.close().catch(() => undefined);
        }
        return void res.end();
      }
      case 'import': {
        const model = modelOf(body.collection);
        const source = body.sourceTenant;
        if (!isTenantId(source)) throw new PlatformInputError('sourceTenant must be a tenant id');
        if (typeof body.documents !== 'string') throw new PlatformInputError('documents must be EJSON text');
        const documents: unknown = mongoose.mongo.BSON.EJSON.parse(body.documents, { relaxed: true });
        if (!Array.isArray(documents) || documents.length > MAX_IMPORT_BATCH || !documents.every(isRecord))
          throw new PlatformInputError(`documents must be an array of at most ${MAX_IMPORT_BATCH} documents`);
        const sealed = sealedOf(model, tenant);
        const result = await importBatch(model, documents, source, tenant, (doc) => sealed.seal(doc));
        counted('import', model.collection.collectionName, result.inserted);
        return void res.json({ subgraph, ...result });
      }
      case 'sweep': {
        const rules = body.rules;
        if (!Array.isArray(rules) || rules.length > MAX_SWEEP_RULES)
          throw new PlatformInputError('rules must be an array');
        const results = [];
        for (const rule of rules as unknown[]) {
          if (!isRecord(rule) || !hooks?.agedCollections?.includes(rule.collection as string))
            throw new PlatformInputError('a rule names a collection retention cannot sweep');
          const before = rule.before;
          if (typeof before !== 'string' || Number.isNaN(Date.parse(before)))
            throw new PlatformInputError('before must be an ISO date');
          const result = await sweepCollection(modelOf(rule.collection), new Date(before));
          counted('sweep', result.collection, result.deleted);
          results.push(result);
        }
        return void res.json({ subgraph, collections: results });
      }
    }
  };

  /** Both placements, pooled first; the silo rows (and `silo`) only when the tenant has a silo database here. */
  const erase = async (
    tenant: string,
  ): Promise<{ subgraph: string; collections: PlacedEraseResult[]; silo: SiloErasure }> => {
    const receipt: PlacedEraseResult[] = [];
    const eraseAll = async (models: Iterable<Parameters<typeof eraseCollection>[0]>, placement: 'pooled' | 'silo') => {
      for (const model of models) {
        const result = await eraseCollection(model);
        counted('erase', result.collection, result.before - result.after);
        receipt.push({ ...result, placement });
      }
    };
    await eraseAll(pooledCollections.values(), 'pooled');
    const silo = await placements.siloForErasure(tenant);
    if (!silo) return { subgraph, collections: receipt, silo: 'absent' };
    await eraseAll(ownedCollections(silo).values(), 'silo');
    const dropped = await placements.dropSilo(tenant);
    // Another tenant's documents in this tenant's silo database would be a bug elsewhere: kept, and said.
    if (dropped === 'not empty') logger.error('silo database not dropped: documents are left in it', { tenant });
    return { subgraph, collections: receipt, silo: dropped };
  };

  return (req, res) => {
    const op = req.params.op as PlatformOperation;
    const token = req.get(PLATFORM_TOKEN_HEADER);
    if (!(PLATFORM_OPERATIONS as readonly string[]).includes(op)) return fail(res, 404, 'NOT_FOUND', 'Not found');
    if (!token || token.length > MAX_TOKEN_LENGTH || !Buffer.isBuffer(req.body)) {
      logger.warn('platform call refused', { reason: 'missing-token', op });
      return fail(res, 401, 'UNAUTHENTICATED', 'Unauthorized');
    }
    let claims;
    try {
      claims = verifyPlatformToken(token, { key, subgraph, op, body: req.body });
    } catch (error) {
      if (!(error instanceof PlatformTokenError)) throw error;
      logger.warn('platform call refused', { reason: error.reason, op });
      return fail(res, 401, 'UNAUTHENTICATED', 'Unauthorized');
    }
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return fail(res, 400, 'BAD_USER_INPUT', 'Malformed request body');
    }
    if (!isRecord(body) || body.tenant !== claims.ten || !isTenantId(claims.ten))
      return fail(res, 400, 'BAD_USER_INPUT', 'The body must name the token’s tenant');
    const requestId = platformRequestId(claims.rid);
    const tenant = claims.ten;
    const log = logger.child({ requestId, tenant, op });
    asPlatform(tenant, requestId, () => run(op, tenant, body as Record<string, unknown>, res)).then(
      // Every call is logged with its tenant and operation: erasures, sweeps and imports are what operators audit.
      () => log.info('platform call'),
      (error: unknown) => {
        if (res.headersSent) {
          log.error('platform call failed while streaming', { cause: error instanceof Error ? error.name : 'error' });
          return void res.destroy();
        }
        if (error instanceof PlatformInputError) return fail(res, 400, 'BAD_USER_INPUT', error.message);
        if (error instanceof StalePlacementError) {
          log.warn('stale tenant placement refused');
          return fail(res, 409, 'STALE_PLACEMENT', 'The tenant’s placement changed: read it again and retry');
        }
        // An import batch with an invalid document: the valid ones are in (a re-run skips them), none of the
        // driver's or the document's text is echoed.
        if (VALIDATION_ERRORS.has((error as { name?: string }).name ?? ''))
          return fail(res, 400, 'BAD_USER_INPUT', 'A document failed validation');
        if (isDatabaseUnavailable(error))
          return fail(res, 503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable');
        log.error('platform call failed', { error, stack: error instanceof Error ? error.stack : undefined });
        fail(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal error');
      },
    );
  };
}

/**
 * Resolves when the answer can take more, or the client went away; removes both listeners either way (a
 * `Promise.race` of two `events.once` left the loser's listeners behind: one per pause, thousands per export).
 */
function drainOrClose(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
