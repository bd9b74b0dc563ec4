/**
 * The Headers tab, honoured: what the user adds is sent with the operation, except what cannot be — and that is
 * said, never dropped in silence. Pure functions (no DOM), so they are tested on their own (../explorer-headers.test.ts).
 *
 * Three kinds of header never leave the page:
 * - the ones the explorer owns: `Authorization` (the token box), `Tollgate-Preview-Roles` (View as), `Content-Type`;
 * - the ones a browser forbids a page to set (`Cookie`, `Host`, `Origin`, `Sec-…`, `Proxy-…`, …): fetch() would
 *   drop them without a word, so the explorer refuses them first, visibly;
 * - anything that is not a header at all (a name that is not an RFC 9110 token, a value that is not a string or
 *   number, or that holds a line break).
 * Everything else is sent; when the gateway then refuses the request, `explainRefusal` names the header that most
 * likely caused it (a partner's `X-Api-Key` beside the token, a tenant header naming another tenant).
 */

export const PREVIEW_ROLES_HEADER = 'Tollgate-Preview-Roles';

const OWNED: Readonly<Record<string, string>> = {
  authorization: 'the explorer sends your token from the token box',
  'content-type': 'the explorer always sends JSON',
  'tollgate-preview-roles': 'choose the persona with “View as”',
};

/** The Fetch standard's forbidden request-header names (a browser drops them from fetch() silently). */
const FORBIDDEN = new Set([
  'accept-charset',
  'accept-encoding',
  'access-control-request-headers',
  'access-control-request-method',
  'connection',
  'content-length',
  'cookie',
  'cookie2',
  'date',
  'dnt',
  'expect',
  'host',
  'keep-alive',
  'origin',
  'referer',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LINE_BREAK = /[\r\n\0]/;
const MAX_HEADERS = 30;
const MAX_VALUE_LENGTH = 4_096;

export interface HeaderCheck {
  /** What will be sent, names as the user wrote them. */
  readonly send: Record<string, string>;
  /** One sentence per header that will not be sent, and why. */
  readonly refused: string[];
}

export function checkUserHeaders(headers: unknown): HeaderCheck {
  const send: Record<string, string> = {};
  const refused: string[] = [];
  if (headers === undefined || headers === null) return { send, refused };
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    return { send, refused: ['The Headers tab must hold one JSON object of header names and values.'] };
  }
  const entries = Object.entries(headers as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) return { send, refused: [`At most ${MAX_HEADERS} headers can be added.`] };
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) {
      refused.push(`“${name.slice(0, 64)}” is not a valid header name.`);
    } else if (OWNED[lower]) {
      refused.push(`${name} was not sent: ${OWNED[lower]}.`);
    } else if (FORBIDDEN.has(lower) || lower.startsWith('sec-') || lower.startsWith('proxy-')) {
      refused.push(`${name} was not sent: browsers do not let a page set it.`);
    } else if (typeof value !== 'string' && typeof value !== 'number') {
      refused.push(`${name} was not sent: its value must be a string.`);
    } else if (LINE_BREAK.test(String(value)) || String(value).length > MAX_VALUE_LENGTH) {
      refused.push(`${name} was not sent: its value has a line break or is too long.`);
    } else {
      send[name] = String(value);
    }
  }
  return { send, refused };
}

/** The part of a GraphQL error response the explanation reads. */
export interface RefusalBody {
  errors?: { message?: string; extensions?: { code?: unknown; reason?: unknown } }[];
}

/**
 * A sentence for a response the gateway refused while user headers were sent, or undefined when it did not refuse.
 * The gateway's own message and code are always part of it.
 */
export function explainRefusal(
  status: number,
  body: RefusalBody | undefined,
  sent: Readonly<Record<string, string>>,
  tokenTenant: string | undefined,
): string | undefined {
  const error = body?.errors?.[0];
  if (status < 400 || !error) return undefined;
  const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'ERROR';
  const gateway = `The gateway refused the request (${status} ${code}: ${error.message ?? 'no message'})`;
  const names = Object.keys(sent).map((name) => name.toLowerCase());
  if (status === 401 && names.includes('x-api-key')) {
    return `${gateway}. X-Api-Key is a partner's credential: the explorer already authenticates with your token, and a request carrying two credentials is refused. Remove X-Api-Key from the Headers tab.`;
  }
  if (error.extensions?.reason === 'TENANT_MISMATCH') {
    return `${gateway}. X-Tenant-Id names another tenant than your token's${tokenTenant ? ` (${tokenTenant})` : ''}: the tenant comes from the token alone.`;
  }
  if (names.length > 0) return `${gateway}. Headers you added: ${Object.keys(sent).join(', ')}.`;
  return `${gateway}.`;
}
