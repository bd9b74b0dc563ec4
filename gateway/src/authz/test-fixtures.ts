/** What the authorization tests and the benchmark share: the real API schema, callers, requests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'graphql';
import type { Role } from '../../../common/ids';
import type { Caller } from '../request';
import { buildApiSchema, queryHashOf, type GateRequest } from './gate';

export const supergraphSdl = readFileSync(join(__dirname, '../../../schema/supergraph.graphql'), 'utf8');
export const apiSchema = buildApiSchema(supergraphSdl);

export function person(...roles: Role[]): Caller {
  const principal = `user-${roles.join('-') || 'none'}`;
  return { tenantId: 'acme', principal, roles, credential: 'jwt', tokenExpiresAt: 0 };
}

/** A partner's API-key caller, as the partner-key issue will add it to `Caller`. */
export function partner(...scopes: string[]): Caller {
  const caller = { tenantId: 'acme', principal: 'partner-1', roles: [], credential: 'apiKey', scopes };
  return { ...caller, tokenExpiresAt: 0 } as Caller;
}

export function gateRequest(
  query: string,
  caller: Caller,
  options: { variables?: Record<string, unknown>; operationName?: string } = {},
): GateRequest {
  return {
    document: parse(query),
    operationName: options.operationName ?? null,
    queryHash: queryHashOf(query),
    variables: options.variables ?? {},
    caller,
  };
}
