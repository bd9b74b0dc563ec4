/**
 * What a client may learn from an error, whatever NODE_ENV is. Apollo Server and the gateway forward a lot by
 * default: subgraph errors keep all their extensions plus `serviceName`, non-2xx subgraph answers carry the URL and
 * raw body in `extensions.response`, and variable-coercion messages keep "Did you mean …" suggestions that
 * `hideSchemaDetailsFromClientErrors` does not strip. Everything here is an allow-list: a key, a code or a message
 * reaches the client only if this file says so.
 */
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode, isDownstreamReason, isKnownErrorCode, isRefusalReason } from '../errors';
import { isFetchFailure } from './fetch-failure';

/** Extension keys a client may see besides `code`; later stages put their numbers here (cost, rate limits). */
export const CLIENT_EXTENSION_KEYS = [
  'validationErrorCode',
  'cost',
  'estimated',
  'maximum',
  'actual',
  'retryAfter',
] as const;

/** Codes whose text is written by us for the client and replaced regardless of what the error said. */
const FIXED_MESSAGES: Partial<Record<ErrorCode, string>> = {
  INTERNAL_SERVER_ERROR: 'Internal server error',
  DOWNSTREAM_SERVICE_ERROR: 'A downstream service failed',
  SUBGRAPH_TIMEOUT: 'A downstream service timed out',
};

/**
 * Apollo's text for this one names the server and its configuration option; ours says how to get what is missing
 * (the introspection stage admits the developer role only, explorer/introspection.ts).
 */
export const INTROSPECTION_DISABLED_MESSAGE =
  'Introspection needs the developer role, which this credential lacks: ask for a token with the developer role (in development: npm run token -- --tenant <tenant> --user <you> --roles developer).';
const VALIDATION_MESSAGES: Record<string, string> = {
  INTROSPECTION_DISABLED: INTROSPECTION_DISABLED_MESSAGE,
};

/**
 * Codes a subgraph may hand to the client with its own message: subgraphs write these for the caller
 * (another tenant's object is NOT_FOUND). Any other subgraph error — a crash (the subgraph kit masks every unknown
 * error to INTERNAL_SERVER_ERROR), a database message, a refused internal token — is a downstream failure: the
 * client must be able to tell a sick subgraph from a fault of the gateway itself.
 */
const SUBGRAPH_CLIENT_CODES: readonly ErrorCode[] = ['NOT_FOUND', 'FORBIDDEN', 'BAD_USER_INPUT'];

const SUGGESTION = 'Did you mean ';
const WHITE_SPACE = /\s/;

/**
 * Removes every `Did you mean …?` and the white space before it — what `/\s*Did you mean [^?]*\?/g` would, written
 * as a scan: messages carry what clients sent (a variable's value), and that pattern is quadratic on a long run of
 * spaces or of repeated "Did you mean " (40 000 spaces: 1.7 s). Each character is looked at a bounded number of times.
 */
export function stripSuggestions(message: string): string {
  let out = '';
  let from = 0;
  for (let at = message.indexOf(SUGGESTION); at !== -1; at = message.indexOf(SUGGESTION, from)) {
    const end = message.indexOf('?', at + SUGGESTION.length);
    if (end === -1) break;
    let start = at;
    while (start > from && WHITE_SPACE.test(message[start - 1]!)) start--;
    out += message.slice(from, start);
    from = end + 1;
  }
  return out + message.slice(from);
}

/** Apollo Server's `formatError`. Returns a fresh object: nothing of the input is passed on by reference. */
export function maskError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const extensions = formatted.extensions ?? {};
  // The gateway adds `serviceName` to every error a subgraph returned: use it to tell origins apart, never show it.
  // Errors our data source wrote for a failed fetch get it too, and carry a mark no subgraph can send.
  const failedFetch = isFetchFailure(extensions);
  const fromSubgraph = !failedFetch && typeof extensions.serviceName === 'string';
  const code = clientCode(extensions.code, fromSubgraph);

  const out: Record<string, unknown> = { code };
  for (const key of CLIENT_EXTENSION_KEYS) {
    if (extensions[key] !== undefined) out[key] = extensions[key];
  }
  // A reason refines a gateway refusal with a known value; from a subgraph, or unknown, it could carry anything.
  if (failedFetch ? isDownstreamReason(extensions.reason) : !fromSubgraph && isRefusalReason(extensions.reason))
    out.reason = extensions.reason;

  const validationCode = typeof extensions.validationErrorCode === 'string' ? extensions.validationErrorCode : '';
  const message = FIXED_MESSAGES[code] ?? VALIDATION_MESSAGES[validationCode] ?? stripSuggestions(formatted.message);

  return {
    message,
    ...(formatted.locations ? { locations: formatted.locations.map(({ line, column }) => ({ line, column })) } : {}),
    ...(formatted.path ? { path: [...formatted.path] } : {}),
    extensions: out,
  };
}

function clientCode(code: unknown, fromSubgraph: boolean): ErrorCode {
  if (fromSubgraph) return SUBGRAPH_CLIENT_CODES.find((known) => known === code) ?? ErrorCode.DOWNSTREAM_SERVICE_ERROR;
  return isKnownErrorCode(code) ? code : ErrorCode.INTERNAL_SERVER_ERROR;
}
