/**
 * The audit's operation stage: while the trail cannot be kept complete (the writer lost events: spool full), a
 * tenant whose plan requires a complete trail gets its mutations refused with SERVICE_UNAVAILABLE (503) — nothing
 * changes that the trail could not record. Queries go on. With `overflow: 'count'` nobody is refused; the loss is
 * counted and logged (writer.ts).
 */
import { ErrorCode, gatewayError } from '../errors';
import type { Stage } from '../pipeline';
import type { OperationRequest } from '../request';
import { auditPolicyOf } from './policy';

export interface AuditStageOptions {
  degraded: () => boolean;
  overflow: 'plan' | 'count';
}

export function createAuditStage(options: AuditStageOptions): Stage {
  return {
    name: 'audit',
    run(request: OperationRequest) {
      if (options.overflow === 'count' || request.operation.operation !== 'mutation' || !options.degraded()) return;
      if (!request.tenant || !auditPolicyOf(request.tenant.plan).completeTrail) return;
      request.log.reason = 'audit-trail-unavailable';
      throw gatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.');
    },
  };
}
