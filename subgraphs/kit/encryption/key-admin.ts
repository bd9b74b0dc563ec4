/**
 * The subgraph's signed platform call for its tenant keys, `POST /_platform/keys`: what `tollgate tenant
 * rotate-key` drives (cli/rotate-key.ts) and what a tenant's erase calls to destroy its key. Until the platform API
 * of issue 18's lifecycle work lands in the kit, this is its own minimal endpoint.
 *
 * Authentication: an internal token (common/internal-token.ts) minted with a key derived from this subgraph's key
 * under a label of its own — so a gateway operation token, which is signed with the subgraph key itself, never
 * verifies here — whose audience is this subgraph, whose tenant is the body's and whose query hash is the SHA-256
 * of the exact body. Tokens live at most a minute.
 *
 * Operations (JSON body `{ op, tenantId, … }`): `status`, `rotate`, `reencrypt` (one bounded batch of one
 * collection per call, resumable with `after`, in the shared database or — `placement: "silo"` — the tenant's silo
 * database), `retire` (refused while any value still names the version in either database, or before the replicas'
 * key caches can have seen the rotation), `destroy`. The keys themselves are in the shared database only: a silo
 * tenant's data key is kept beside everyone else's (kit/encryption/index.ts).
 */
import { createHmac } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import type { mongo } from 'mongoose';
import { isTenantId } from '../../../common/ids';
import {
  INTERNAL_TOKEN_HEADER,
  InternalTokenError,
  hashQuery,
  mintInternalToken,
  verifyInternalToken,
} from '../../../common/internal-token';
import type { Logger } from '../../../common/logger';
import type { FieldCipher } from './field-cipher';
import { KeyStoreError, type TenantKeyStore } from './key-store';
import { countStale, reencryptCollection, type EncryptedCollection } from './reencrypt';

export const PLATFORM_KEYS_PATH = '/_platform/keys';
const KEY_LABEL = 'tollgate/platform-keys/v1';
const BODY_LIMIT = '4kb';
const OBJECT_ID = /^[0-9a-f]{24}$/;

/** The key platform key calls are signed with, derived from the subgraph's internal key. */
export function derivePlatformKeysKey(subgraphKey: Buffer): Buffer {
  return createHmac('sha256', subgraphKey).update(KEY_LABEL).digest();
}

export type KeyAdminRequest =
  | { op: 'status' | 'rotate' | 'destroy'; tenantId: string }
  | {
      op: 'reencrypt';
      tenantId: string;
      collection: string;
      after?: string;
      batchSize?: number;
      placement?: 'pooled' | 'silo';
    }
  | { op: 'retire'; tenantId: string; version: number };

/** Signs `body` (the exact text sent) for `audience`'s platform key endpoint. */
export function signKeyAdminRequest(subgraphKey: Buffer, audience: string, body: string, tenantId: string): string {
  const now = Date.now();
  return mintInternalToken(derivePlatformKeysKey(subgraphKey), {
    kind: 'svc',
    aud: audience,
    ten: tenantId,
    sub: 'platform',
    roles: [],
    qh: hashQuery(body),
    rid: `platform-keys-${now}`,
    iat: now,
    exp: now + 30_000,
  });
}

export interface KeyAdminOptions {
  audience: string;
  subgraphKey: Buffer;
  db: mongo.Db;
  /** The tenant's silo database (kit/placement.ts), which may not exist: its sealed values count for `retire` too. */
  siloDb: (tenantId: string) => mongo.Db;
  keyStore: TenantKeyStore;
  cipher: FieldCipher;
  encrypted: readonly EncryptedCollection[];
  logger: Logger;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function parseRequest(value: unknown): KeyAdminRequest {
  const body = value as Record<string, unknown> | null;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body.tenantId !== 'string')
    throw new Refusal(400, 'BAD_REQUEST', 'a JSON object with op and tenantId is required');
  if (!isTenantId(body.tenantId)) throw new Refusal(400, 'BAD_REQUEST', 'invalid tenant id');
  const tenantId = body.tenantId;
  switch (body.op) {
    case 'status':
    case 'rotate':
    case 'destroy':
      return { op: body.op, tenantId };
    case 'reencrypt': {
      const { collection, after, batchSize, placement } = body;
      if (typeof collection !== 'string') throw new Refusal(400, 'BAD_REQUEST', 'collection is required');
      if (placement !== undefined && placement !== 'pooled' && placement !== 'silo')
        throw new Refusal(400, 'BAD_REQUEST', 'placement must be pooled or silo');
      if (after !== undefined && (typeof after !== 'string' || !OBJECT_ID.test(after)))
        throw new Refusal(400, 'BAD_REQUEST', 'after must be an id of 24 hex digits');
      if (
        batchSize !== undefined &&
        (!Number.isInteger(batchSize) || Number(batchSize) < 1 || Number(batchSize) > 1000)
      )
        throw new Refusal(400, 'BAD_REQUEST', 'batchSize must be an integer from 1 to 1000');
      return {
        op: 'reencrypt',
        tenantId,
        collection,
        ...(after === undefined ? {} : { after: after as string }),
        ...(batchSize === undefined ? {} : { batchSize: Number(batchSize) }),
        ...(placement === undefined ? {} : { placement }),
      };
    }
    case 'retire':
      if (!Number.isInteger(body.version) || Number(body.version) < 1)
        throw new Refusal(400, 'BAD_REQUEST', 'version must be a positive integer');
      return { op: 'retire', tenantId, version: Number(body.version) };
    default:
      throw new Refusal(400, 'BAD_REQUEST', 'op must be status, rotate, reencrypt, retire or destroy');
  }
}

export function keyAdminHandlers(options: KeyAdminOptions): RequestHandler[] {
  const key = derivePlatformKeysKey(options.subgraphKey);
  const { keyStore, cipher, db, encrypted } = options;

  // Both placements, whatever the tenant's is now: leftovers of an interrupted move would otherwise become
  // unreadable when the version they name is retired.
  async function stale(tenantId: string): Promise<number> {
    let total = 0;
    for (const placed of [db, options.siloDb(tenantId)])
      for (const spec of encrypted) total += await countStale({ db: placed, spec, cipher, tenantId });
    return total;
  }

  async function run(request: KeyAdminRequest): Promise<unknown> {
    const { tenantId } = request;
    switch (request.op) {
      case 'status': {
        const status = await keyStore.status(tenantId);
        return status ? { ...status, stale: await stale(tenantId) } : { current: null, versions: [], stale: 0 };
      }
      case 'rotate':
        return keyStore.rotate(tenantId);
      case 'destroy':
        return keyStore.destroyTenantKey(tenantId);
      case 'reencrypt': {
        const spec = encrypted.find((s) => s.collection === request.collection);
        if (!spec) throw new Refusal(400, 'BAD_REQUEST', 'no encrypted collection of that name');
        const result = await reencryptCollection({
          db: request.placement === 'silo' ? options.siloDb(tenantId) : db,
          spec,
          cipher,
          tenantId,
          maxBatches: 1,
          ...(request.after ? { after: request.after } : {}),
          ...(request.batchSize ? { batchSize: request.batchSize } : {}),
        });
        return { ...result, collection: spec.collection };
      }
      case 'retire': {
        const status = await keyStore.status(tenantId);
        if (!status) throw new Refusal(404, 'NOT_FOUND', 'the tenant has no data key');
        if (request.version === status.current)
          throw new Refusal(409, 'CONFLICT', 'the current key version cannot be retired');
        // Replicas may go on sealing with the previous version until their cache TTL has passed since the rotation.
        const waitMs = status.currentSince.getTime() + keyStore.cacheTtlMs - Date.now();
        if (waitMs > 0)
          throw new Refusal(409, 'TOO_EARLY', 'replicas may still use the old version', { retryAfterMs: waitMs });
        const left = await stale(tenantId);
        if (left > 0)
          throw new Refusal(409, 'STALE_VALUES', 'values are still sealed with an older version', { stale: left });
        await keyStore.retire(tenantId, request.version);
        return { retired: request.version, current: status.current };
      }
    }
  }

  const handler: RequestHandler = async (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const token = req.get(INTERNAL_TOKEN_HEADER);
    try {
      let claims;
      try {
        if (!token) throw new InternalTokenError('malformed');
        claims = verifyInternalToken(token, { key, audience: options.audience, query: raw });
      } catch (error) {
        if (error instanceof InternalTokenError) throw new Refusal(401, 'UNAUTHENTICATED', 'platform call refused');
        throw error;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new Refusal(400, 'BAD_REQUEST', 'malformed JSON body');
      }
      const request = parseRequest(parsed);
      if (claims.kind !== 'svc' || claims.ten !== request.tenantId)
        throw new Refusal(401, 'UNAUTHENTICATED', 'platform call refused');
      const result = await run(request);
      options.logger.info('platform key call', { op: request.op, tenant: request.tenantId });
      res.json(result);
    } catch (error) {
      if (error instanceof Refusal)
        return void res
          .status(error.status)
          .json({ error: { code: error.code, message: error.message, ...error.extra } });
      if (error instanceof KeyStoreError)
        return void res.status(409).json({ error: { code: 'CONFLICT', message: error.message } });
      options.logger.error('platform key call failed', { error });
      res.status(500).json({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal error' } });
    }
  };
  return [express.text({ type: 'application/json', limit: BODY_LIMIT }), handler];
}
