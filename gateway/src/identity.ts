/**
 * Who is calling, for which tenant — assembled once per gateway: the trusted JWT issuers, the control plane in
 * MongoDB, the tenant directory, the API key cache and the persisted-operation manifests in front of it, and the
 * Redis subscription that tells the caches what changed. Closed with the gateway.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, loadOrCreateDevJwtKeys } from '../../common/dev-secrets';
import type { Logger } from '../../common/logger';
import { DEFAULT_API_KEY_INDEX, type GatewayConfig } from './config';
import type { mongo } from 'mongoose';
import { ApiKeyVerifier } from './credentials/api-key-verifier';
import { createKeyIdIndex, type KeyIdIndex } from './credentials/key-id-index';
import { loadTrustedIssuers, type LoadTrustedIssuersOptions } from './credentials/issuers';
import { createManifestCatalog, type ManifestCatalog } from './persisted/catalog';
import { createAuthenticator, type Authenticator } from './http/authenticate';
import { subscribeToChanges, type ControlPlaneChange } from './tenants/changes';
import type { SupergraphRegistry } from './supergraph/registry';
import { createTenantDirectory, type TenantDirectory } from './tenants/directory';
import { openControlPlane } from './control-plane/open';

/** How long a start waits for the change subscription before it serves on the cache lifetime alone. */
const SUBSCRIPTION_WAIT_MS = 2_000;

export interface Identity {
  readonly directory: TenantDirectory;
  readonly authenticate: Authenticator;
  /** The manifests of the caller's client: what an API key may run, and a tenant's frontend safelist. */
  readonly manifests: ManifestCatalog;
  /** Which API key ids exist: made-up keys are refused from it without a read. */
  readonly keyIds: KeyIdIndex;
  /** Published supergraphs (supergraph/control-plane-source.ts reads the current one). */
  readonly supergraphs: SupergraphRegistry;
  /** Resolves when the control plane's MongoDB answers within `timeoutMs` (readiness, health.ts). */
  pingControlPlane(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface IdentityOptions {
  /** Told of every command sent to the control plane (the driver's command monitoring): for tests and diagnostics. */
  onControlPlaneCommand?: (event: mongo.CommandStartedEvent) => void;
  /** Told of every change announced, after the caches here applied it (the supergraph source listens). */
  onChange?: (change: ControlPlaneChange) => void;
  /** Told when the subscription is (re)established: announcements may have been missed. */
  onResync?: () => void;
}

export async function startIdentity(
  config: GatewayConfig,
  logger: Logger,
  options: IdentityOptions = {},
): Promise<Identity> {
  const issuers = loadTrustedIssuers({
    file: config.jwt.trustedIssuersFile,
    production: config.production,
    devIssuer: config.jwt.trustDevIssuer ? await devIssuer(config) : undefined,
  });
  const { mongoUri, dbName } = config.controlPlane;
  // The gateway reads the control plane and never changes its indexes: `tollgate migrate` does (common/indexes.ts).
  const controlPlane = await openControlPlane({
    mongoUri,
    dbName,
    onCommand: options.onControlPlaneCommand,
    indexes: 'verify',
  });
  const directory = createTenantDirectory({ source: controlPlane.tenants, logger });
  const indexConfig = config.apiKeyIndex ?? DEFAULT_API_KEY_INDEX;
  const keyIds = createKeyIdIndex({
    source: controlPlane.apiKeys,
    logger,
    refreshMs: indexConfig.refreshMs,
    fullReloadMs: indexConfig.fullReloadMs,
  });
  const apiKeys = new ApiKeyVerifier({ source: controlPlane.apiKeys, logger, knownKeyIds: keyIds });
  const manifests = createManifestCatalog({ source: controlPlane.manifests, logger });
  const subscription = subscribeToChanges({
    redisUrl: config.redisUrl,
    dbName,
    logger,
    onChange: (change) => {
      directory.applyChange(change);
      keyIds.applyChange(change);
      apiKeys.applyChange(change);
      manifests.applyChange(change);
      options.onChange?.(change);
    },
    onResync: () => {
      directory.resync();
      keyIds.resync();
      apiKeys.resync();
      manifests.resync();
      options.onResync?.();
    },
  });
  // Redis being unreachable must not stop the gateway from starting; its absence is logged by the subscription.
  // Loaded after subscribing, so no key announced meanwhile is missed; a failed load leaves the index empty and every
  // key read from the control plane as before, until a refresh succeeds.
  await Promise.all([
    keyIds.start(),
    Promise.race([subscription.ready, delay(SUBSCRIPTION_WAIT_MS, undefined, { ref: false })]),
  ]);
  return {
    directory,
    authenticate: createAuthenticator({ issuers, apiKeys, directory }),
    manifests,
    keyIds,
    supergraphs: controlPlane.supergraphs,
    pingControlPlane: (timeoutMs) => controlPlane.ping(timeoutMs),
    async close() {
      keyIds.close();
      await subscription.close();
      await apiKeys.close();
      await controlPlane.close();
    },
  };
}

/** The key pair under .data/secrets that `npm run token` signs with; never read in production. */
async function devIssuer(config: GatewayConfig): Promise<LoadTrustedIssuersOptions['devIssuer']> {
  if (config.production) throw new Error('the development JWT keys are refused in production');
  const keys = await loadOrCreateDevJwtKeys();
  return { issuer: DEV_JWT_ISSUER, audience: DEV_JWT_AUDIENCE, jwks: keys.publicJwks };
}
