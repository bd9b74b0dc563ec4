/** For stage tests: a request with its operation resolved, as the runner (pipeline/index.ts) hands it to a stage. */
import { createHash, randomBytes } from 'node:crypto';
import { getOperationAST, parse } from 'graphql';
import type { Caller, OperationRequest } from '../request';
import type { TenantRecord } from '../tenants/tenant';

/**
 * Each call gets its own request id and its own context: stages keep per-request state (the cost reservation) on
 * it. `tenant` is the snapshot authentication would have taken; stages built with explicit `limitsFor`/`modeFor`
 * options do not read it.
 */
export function resolvedOperation(
  query: string,
  caller: Caller,
  variables: Record<string, unknown> = {},
  tenant?: TenantRecord,
): OperationRequest {
  const document = parse(query);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  return {
    requestId: `req-${randomBytes(4).toString('hex')}`,
    log: { errorCodes: [] },
    caller,
    ...(tenant ? { tenant } : {}),
    document,
    operation,
    operationName: operation.name?.value ?? null,
    variables,
    queryHash: createHash('sha256').update(query).digest('hex'),
    source: query,
  };
}
