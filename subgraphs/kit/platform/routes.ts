/**
 * The operator's routes on a subgraph, beside /graphql: the tenant-key calls (rotation, retirement, destruction —
 * kit/encryption/key-admin.ts; only where there are keys) and the platform API (tenant lifecycle: api.ts). Each is
 * verified with a key and token format of its own, derived from the subgraph's internal key under its own label.
 */
import express, { type Router } from 'express';
import type { Connection } from 'mongoose';
import type { Logger } from '../../../common/logger';
import { derivePlatformKey } from '../../../common/platform-token';
import type { FieldCipher } from '../encryption/field-cipher';
import { PLATFORM_KEYS_PATH, keyAdminHandlers } from '../encryption/key-admin';
import type { TenantKeyStore } from '../encryption/key-store';
import type { EncryptedCollection } from '../encryption/reencrypt';
import { siloDbName, type Placements } from '../placement';
import { PLATFORM_BODY_LIMIT, platformApi, type PlatformApiOptions, type PlatformHooks } from './api';

export interface PlatformRoutesOptions<TModels> {
  subgraph: string;
  internalKey: Buffer;
  connection: Connection;
  placements: Placements<TModels>;
  hooks?: PlatformHooks<TModels>;
  cipher: FieldCipher;
  keyStore?: TenantKeyStore;
  encrypted?: readonly EncryptedCollection[];
  logger: Logger;
  onDocuments?: PlatformApiOptions<TModels>['onDocuments'];
}

export function platformRoutes<TModels>(options: PlatformRoutesOptions<TModels>): Router {
  const { subgraph, internalKey, connection, cipher, keyStore, encrypted, logger } = options;
  const router = express.Router();
  // Registered first: `/_platform/keys` is the key calls', every other `/_platform/<op>` the platform API's.
  if (keyStore) {
    router.post(
      PLATFORM_KEYS_PATH,
      ...keyAdminHandlers({
        audience: subgraph,
        subgraphKey: internalKey,
        db: connection.db!,
        siloDb: (tenantId) => connection.getClient().db(siloDbName(connection.name, tenantId)),
        keyStore,
        cipher,
        encrypted: encrypted ?? [],
        logger,
      }),
    );
  }
  router.post(
    '/_platform/:op',
    express.raw({ type: 'application/json', limit: PLATFORM_BODY_LIMIT }),
    platformApi({
      key: derivePlatformKey(internalKey),
      subgraph,
      connection,
      placements: options.placements,
      cipher,
      logger,
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(encrypted ? { encrypted } : {}),
      ...(options.onDocuments ? { onDocuments: options.onDocuments } : {}),
    }),
  );
  return router;
}
