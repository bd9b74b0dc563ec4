/** For stage tests: a ResolvedOperation as the pipeline plugin would hand it to a stage. */
import { createHash, randomBytes } from 'node:crypto';
import { getOperationAST, parse } from 'graphql';
import type { Caller, ResolvedOperation } from '../pipeline';

/** A filter hook that fails the test if a stage uses it. */
export function unexpectedFilter(): never {
  throw new Error('this test expected no field filter');
}

/** Each call gets its own request id: stages that keep per-request state (the cost ledger) key it by that id. */
export function resolvedOperation(query: string, caller: Caller, variables: Record<string, unknown> = {}): ResolvedOperation {
  const document = parse(query);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  return {
    requestId: `req-${randomBytes(4).toString('hex')}`,
    caller,
    document,
    operation,
    operationName: operation.name?.value ?? null,
    variables,
    queryHash: createHash('sha256').update(query).digest('hex'),
    filterFields: unexpectedFilter,
  };
}
