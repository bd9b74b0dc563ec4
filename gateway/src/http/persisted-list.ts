/**
 * `GET /persisted-operations`: the operations the calling API key may run — the id, name and type of each
 * operation of the key's manifest, as the gateway serves it now — so a partner can check its deployment (or its
 * CI) against what the gateway will accept instead of learning it from PERSISTED_QUERY_NOT_IN_LIST.
 *
 * API keys only. A JWT caller (a frontend, a developer) is refused with 403 FORBIDDEN rather than shown its tenant's
 * frontend safelist: the safelist is the operator's setting, not a list any signed-in person should enumerate, and a
 * developer has the explorer and the manifests in the repository. Bodies are not listed: the partner wrote them,
 * and the list stays small whatever the operations' size.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../../common/logger';
import { ErrorCode, gatewayError } from '../errors';
import type { ManifestCatalog } from '../persisted/catalog';
import type { PersistedOperationType } from '../persisted/manifest';
import { requestStateOf } from '../request';
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';
import { refuse } from './guards';

export interface PersistedListOptions {
  /** The same catalog the persisted-operations stage resolves ids from, so the list is exactly what runs. */
  manifests: ManifestCatalog;
  logger: Logger;
}

/** The answer's shape; `manifest` and `version` are null when the key names no manifest or none is served. */
export interface PersistedOperationList {
  tenant: string;
  manifest: string | null;
  version: number | null;
  operations: { id: string; name: string; type: PersistedOperationType }[];
}

export function listPersistedOperations(options: PersistedListOptions): RequestHandler {
  return async (_req, res, next) => {
    const state = requestStateOf(res);
    if (!state?.caller) return next(new Error('listPersistedOperations runs after authentication'));
    const { caller } = state;
    if (caller.credential !== 'apiKey') {
      state.log.reason = 'persisted-list-not-api-key';
      return refuse(
        res,
        gatewayError(ErrorCode.FORBIDDEN, 'Only API keys have a persisted operation list: send x-api-key.'),
      );
    }
    try {
      const served = caller.manifest
        ? await options.manifests.manifestFor(caller.tenantId, caller.manifest)
        : undefined;
      const list: PersistedOperationList = {
        tenant: caller.tenantId,
        manifest: caller.manifest ?? null,
        version: served?.version ?? null,
        operations: [...(served?.operations.values() ?? [])]
          .map(({ id, name, type }) => ({ id, name, type }))
          .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)),
      };
      res.status(200).json(list);
    } catch (error) {
      if (!(error instanceof ControlPlaneUnavailableError)) return next(error);
      state.log.reason = error.name;
      options.logger.error('persisted operations could not be read', { requestId: state.requestId, error });
      refuse(
        res,
        gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.', {
          headers: { 'retry-after': '1' },
        }),
      );
    }
  };
}
