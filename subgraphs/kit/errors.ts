/**
 * The errors a subgraph may show a client. Everything else is masked by the server's `formatError` as
 * `INTERNAL_SERVER_ERROR`, so a resolver that wants the client to see a refusal must throw one of these.
 */
import { GraphQLError } from 'graphql';

/** Codes whose message reaches the client unchanged; any other error becomes "Internal error". */
export const CLIENT_ERROR_CODES = [
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  // The database is unreachable or too slow for the request's deadline (deadline.ts); the message is fixed.
  'SERVICE_UNAVAILABLE',
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export function isClientErrorCode(code: unknown): code is ClientErrorCode {
  return typeof code === 'string' && (CLIENT_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Missing, malformed id and another tenant's object all produce this one error, so a caller cannot tell which.
 * `entity` is a type name chosen by the resolver, never client input.
 */
export function notFound(entity: string): GraphQLError {
  return new GraphQLError(`${entity} not found`, { extensions: { code: 'NOT_FOUND' } });
}

export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

export function forbidden(): GraphQLError {
  return new GraphQLError('Forbidden', { extensions: { code: 'FORBIDDEN' } });
}

export function unauthenticated(): GraphQLError {
  return new GraphQLError('Unauthorized', { extensions: { code: 'UNAUTHENTICATED' } });
}

/** MongoDB's duplicate-key error (E11000), whose text names the database, collection, index and key. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/** Runs a write and turns a duplicate-key failure into BAD_USER_INPUT with `message` and none of the driver's text. */
export async function withDuplicateKeyAs<T>(message: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKeyError(error)) throw badInput(message);
    throw error;
  }
}
