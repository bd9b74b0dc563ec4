/**
 * Client awareness: which application and release sent a request, as Apollo Client (`new ApolloClient({
 * clientAwareness: { name, version } })`) and Apollo's other clients announce it in the `apollographql-client-name`
 * and `apollographql-client-version` headers. The gateway writes them into the request's log line so an operator
 * can tell which frontend release sends what; they are never trusted for anything else (any caller can send any
 * name).
 *
 * Header values are client text that lands in log lines: a value is kept only when it is short and made of
 * characters a name or a version string uses — no control characters, quotes or braces that could fake log
 * structure — and is dropped (not truncated: half a name misleads) when it looks like a credential.
 */
import { containsCredential } from '../../../common/secret-shapes';

export const CLIENT_NAME_HEADER = 'apollographql-client-name';
export const CLIENT_VERSION_HEADER = 'apollographql-client-version';

/** Longest name or version kept; Apollo's own clients send a few dozen characters at most. */
export const MAX_CLIENT_AWARENESS_LENGTH = 64;

/** Letters, digits and the punctuation of names (`web-shop`, `@acme/app`) and versions (`1.2.3-rc.1+build.5`). */
const SAFE_VALUE = /^[A-Za-z0-9@][A-Za-z0-9 ._@/+:-]*$/;

/** What a request said about its client, each field only when present and acceptable. */
export interface ClientAwareness {
  clientName?: string;
  clientVersion?: string;
}

/** `value` when it may go into a log line as is, otherwise undefined. Linear in the value's length. */
export function acceptableClientValue(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_CLIENT_AWARENESS_LENGTH) return undefined;
  if (!SAFE_VALUE.test(value) || containsCredential(value)) return undefined;
  return value;
}

/** The client name and version a request announced, read through `header` (Express's `req.get`). */
export function clientAwarenessOf(header: (name: string) => string | undefined): ClientAwareness {
  const clientName = acceptableClientValue(header(CLIENT_NAME_HEADER));
  const clientVersion = acceptableClientValue(header(CLIENT_VERSION_HEADER));
  return {
    ...(clientName === undefined ? {} : { clientName }),
    ...(clientVersion === undefined ? {} : { clientVersion }),
  };
}
