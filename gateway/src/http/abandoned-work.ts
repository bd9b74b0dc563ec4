/**
 * What a client is told when graphql-js gives up on a document, or when something overflowed the stack: stable
 * codes and our own messages, applied in `formatError` before the mask (http.ts, `formatForClient`).
 *
 * - Validation stops after `MAX_VALIDATION_ERRORS` errors, adding "Too many validation errors, error limit reached.
 *   Validation aborted.": it becomes validationErrorCode MAX_VALIDATION_ERRORS_LIMIT with `maximum`.
 * - graphql-js ≥ 16.12 meters the work of OverlappingFieldsCanBeMerged and of fragment spreads and answers
 *   "Validation aborted." when a document needs too much (e.g. `{ __typename ×1000 }`): MAX_VALIDATION_WORK_LIMIT.
 * - A stack overflow ("Maximum call stack size exceeded") that got into an error — Apollo Server turns one thrown by
 *   the parser into GRAPHQL_PARSE_FAILED with that message — keeps its code and gets a generic message. The bounds
 *   in json-depth.ts and document-bounds.ts keep client input from getting there; this is the second line.
 *
 * These are recognised by graphql-js's exact texts (pinned by abandoned-work.test.ts against the installed
 * graphql-js, so an upgrade that changes them fails a test instead of leaking).
 */
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../errors';

/** Apollo Server's `validationOptions.maxErrors` (server.ts); graphql-js's default, stated so `maximum` is true. */
export const MAX_VALIDATION_ERRORS = 100;

export const AbandonedWorkCode = {
  MAX_VALIDATION_ERRORS_LIMIT: 'MAX_VALIDATION_ERRORS_LIMIT',
  MAX_VALIDATION_WORK_LIMIT: 'MAX_VALIDATION_WORK_LIMIT',
} as const;

export const GRAPHQL_JS_TOO_MANY_ERRORS = 'Too many validation errors, error limit reached. Validation aborted.';
export const GRAPHQL_JS_VALIDATION_ABORTED = 'Validation aborted.';
const STACK_OVERFLOW = 'Maximum call stack size exceeded';

/** The message a code gets when the error's own text was a stack overflow. */
const GENERIC_MESSAGES: Partial<Record<string, string>> = {
  [ErrorCode.GRAPHQL_PARSE_FAILED]: 'The document could not be parsed.',
  [ErrorCode.GRAPHQL_VALIDATION_FAILED]: 'The document could not be validated.',
  [ErrorCode.BAD_USER_INPUT]: 'The request could not be processed.',
};

/**
 * Rewrites the formatted error when it is one of the above; returns it unchanged otherwise. Subgraph errors
 * (`serviceName`) are the mask's business and are left alone.
 */
export function codeAbandonedWork(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
  const extensions = formatted.extensions ?? {};
  if (typeof extensions.serviceName === 'string') return formatted;
  const code = extensions.code;
  if (code === ErrorCode.GRAPHQL_VALIDATION_FAILED && formatted.message === GRAPHQL_JS_TOO_MANY_ERRORS) {
    return {
      ...formatted,
      message: `Too many validation errors: validation stopped after ${MAX_VALIDATION_ERRORS}.`,
      extensions: {
        ...extensions,
        validationErrorCode: AbandonedWorkCode.MAX_VALIDATION_ERRORS_LIMIT,
        maximum: MAX_VALIDATION_ERRORS,
      },
    };
  }
  if (code === ErrorCode.GRAPHQL_VALIDATION_FAILED && formatted.message === GRAPHQL_JS_VALIDATION_ABORTED) {
    return {
      ...formatted,
      message: 'The document is too complex to validate.',
      extensions: { ...extensions, validationErrorCode: AbandonedWorkCode.MAX_VALIDATION_WORK_LIMIT },
    };
  }
  if (formatted.message.includes(STACK_OVERFLOW) || causedByStackOverflow(error)) {
    const message = typeof code === 'string' ? GENERIC_MESSAGES[code] : undefined;
    // Any other code: the mask's fixed text for INTERNAL_SERVER_ERROR, which is what a stack overflow is.
    return message
      ? { ...formatted, message }
      : {
          ...formatted,
          message: 'Internal server error',
          extensions: { ...extensions, code: ErrorCode.INTERNAL_SERVER_ERROR },
        };
  }
  return formatted;
}

/** Follows `originalError` (Apollo Server and graphql-js wrap errors in errors) a few levels down. */
function causedByStackOverflow(error: unknown): boolean {
  let current: unknown = error;
  for (let level = 0; level < 5 && typeof current === 'object' && current !== null; level += 1) {
    if (current instanceof RangeError) return true;
    current = (current as { originalError?: unknown }).originalError;
  }
  return false;
}
