/**
 * Stage: may this caller run this operation? graphql-shield rules (authz/rules.ts) decided on the document by the
 * gate (authz/gate.ts) in `didResolveOperation`, before the gateway plans or fetches anything.
 *
 * Per tenant, a denial either refuses the operation (`reject`, the default), removes the denied fields and answers
 * the rest (`filter`, queries only), or is only logged (`shadow`, to try a new policy on live traffic). Input rules
 * refuse with BAD_USER_INPUT in `reject` and `filter` alike: filtering is for rights, a wrong argument is the
 * client's to fix.
 */
import type { Logger } from '../../../common/logger';
import { fieldFilterFor, nullDeniedPositions, type FieldFilter } from '../authz/filter';
import type { AuthorizationGate, Denial } from '../authz/gate';
import { ErrorCode, gatewayError } from '../errors';
import type { AuthzMode } from '../tenants/tenant';
import { replaceDocument, type AfterHook, type StageResponse } from '../request';
import type { Stage } from './index';

export interface AuthorizeOptions {
  readonly gate: AuthorizationGate;
  readonly logger: Logger;
  /**
   * The enforcement a tenant is on; by default the tenant snapshot's `authzMode`, and `reject` for a request
   * without one. Asked only when something is denied.
   */
  readonly modeFor?: (tenantId: string) => AuthzMode | Promise<AuthzMode>;
}

/** Denied fields named in a refusal; the log line has them all. */
const MAX_FIELDS_IN_MESSAGE = 5;
/** Positions per denied field in a log line: a fragment can put one field at many. */
const MAX_PATHS_LOGGED = 10;

export function createAuthorizeStage(options: AuthorizeOptions): Stage {
  const { gate, logger, modeFor } = options;
  if (gate.uncoveredFields.length > 0) {
    logger.warn('authorization rules do not cover these fields; the fallback rule denies them', {
      fields: gate.uncoveredFields,
    });
  }

  return {
    name: 'authorize',
    async run(operation) {
      const { caller, requestId, operationName } = operation;
      const { analysis, denials } = await gate.evaluate(operation);
      if (denials.length === 0) return;

      const mode = modeFor ? await modeFor(caller.tenantId) : (operation.tenant?.authzMode ?? 'reject');
      const fields = { requestId, tenant: caller.tenantId, operationName, mode };
      for (const denial of denials) {
        if (denial.reason !== 'rule-error') continue;
        logger.error('authorization rule failed; the field is denied', {
          ...fields,
          ...describe(denial),
          error: denial.error,
        });
      }
      if (mode === 'shadow') {
        for (const denial of denials) logger.info('authorization would deny', { ...fields, ...describe(denial) });
        return;
      }

      const forbidden = denials.filter((denial) => denial.reason !== 'invalid-input');
      const invalid = denials.find((denial) => denial.reason === 'invalid-input');
      const filterable = mode === 'filter' && operation.operation.operation === 'query';
      if (forbidden.length > 0 && !filterable) refuse(logger, fields, forbidden);
      if (invalid) {
        logger.info('authorization refused invalid input', { ...fields, ...describe(invalid) });
        throw gatewayError(ErrorCode.BAD_USER_INPUT, invalid.error?.message ?? 'Invalid argument.');
      }

      const filter = fieldFilterFor(analysis, forbidden);
      if (!filter) refuse(logger, fields, forbidden);
      logger.info('authorization filtered fields', { ...fields, denied: forbidden.map(describe) });
      // Every later stage (cost included) sees the filtered document; the response is completed once known. The
      // hook is a closure over this request's filter: filter mode only, never on the common path.
      replaceDocument(operation, filter);
      const complete: AfterHook = (_request, response) => completeFilteredResponse(response, filter);
      return complete;
    },
  };
}

function refuse(logger: Logger, fields: Record<string, unknown>, forbidden: readonly Denial[]): never {
  logger.info('authorization refused the operation', { ...fields, denied: forbidden.map(describe) });
  const names = [...new Set(forbidden.map((d) => `${d.field.parentTypeName}.${d.field.fieldName}`))];
  const shown = names.slice(0, MAX_FIELDS_IN_MESSAGE).join(', ');
  const more = names.length > MAX_FIELDS_IN_MESSAGE ? ` and ${names.length - MAX_FIELDS_IN_MESSAGE} more` : '';
  throw gatewayError(ErrorCode.FORBIDDEN, `Not authorized to access ${shown}${more}.`);
}

function describe(denial: Denial): Record<string, unknown> {
  const paths = denial.field.occurrences.map((o) => o.path.map((step) => step.key).join('.'));
  return {
    field: `${denial.typeName}.${denial.field.fieldName}`,
    paths: paths.slice(0, MAX_PATHS_LOGGED),
    rule: denial.rule,
    reason: denial.reason,
  };
}

/**
 * Filter mode's after-hook: nulls the removed fields and adds their errors. A response without data (a refusal by a
 * later stage, a failed execution) is left alone. The errors are added after `formatError`; the runner records
 * their codes, with the response's other errors, for the request's log line.
 */
export function completeFilteredResponse(response: StageResponse, filter: FieldFilter): void {
  const { body } = response;
  if (body.kind !== 'single') return;
  const result = body.singleResult;
  if (result.data === undefined) return;
  result.data = nullDeniedPositions(result.data, filter.nulls);
  const errors = filter.errors.map((error) => ({ ...error, path: [...(error.path ?? [])] }));
  result.errors = [...(result.errors ?? []), ...errors];
}
