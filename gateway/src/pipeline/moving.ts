/**
 * While `tollgate tenant move` moves a tenant between isolation tiers (cli/tenant-move.ts), its writes are refused:
 * 503 SERVICE_UNAVAILABLE with Retry-After, before anything is planned, charged or sent — a refused mutation
 * changes nothing, so the client retries it as it is. Queries go on, served from the placement the tenant
 * snapshot names (the old one until the switch, the new one after; both hold the same documents meanwhile).
 */
import { ErrorCode, gatewayError } from '../errors';
import type { Stage } from './index';

/** Seconds a client is told to wait: a move blocks writes for a few seconds plus the copy. */
export const MOVE_RETRY_AFTER_S = 2;

export const tenantMoving: Stage = {
  name: 'tenant-moving',
  run({ operation, tenant }) {
    if (operation.operation === 'mutation' && tenant?.move !== undefined) {
      throw gatewayError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'This tenant is being moved; writes are paused for a moment. Retry after the time given.',
        { headers: { 'retry-after': String(MOVE_RETRY_AFTER_S) }, extensions: { retryAfter: MOVE_RETRY_AFTER_S } },
      );
    }
  },
};
