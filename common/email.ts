/**
 * The e-mail address check shared by the gateway's input rule and the accounts subgraph, written as a scan and not
 * as a regular expression: it does a bounded amount of work per character (one pass over at most 254 of them), so
 * no address a client sends can make it slow. yup's `string().email()` — what this replaces — backtracks
 * exponentially on shapes like `"a"×40 + "@" + "a."×30 + "!"`.
 *
 * The rule is pragmatic, not RFC 5322: one `@`; a local part of 1–64 characters from the unquoted set
 * `a-z 0-9 ! # $ % & ' * + / = ? ^ _ \` { | } ~ . -`; a domain of at least two DNS labels, each 1–63 letters, digits
 * or inner hyphens; at most 254 characters in all. Letters of either case are accepted (callers normalise to lower
 * case for storage); nothing that would need quoting, no IP-literal domains, no internationalised names.
 */
export const MAX_EMAIL_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;
const MAX_LABEL_LENGTH = 63;

const LOCAL_SYMBOLS = new Set("!#$%&'*+/=?^_`{|}~.-");

function isLetterOrDigit(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function isLocalPart(local: string): boolean {
  if (local.length < 1 || local.length > MAX_LOCAL_LENGTH) return false;
  for (let i = 0; i < local.length; i++) {
    if (!isLetterOrDigit(local.charCodeAt(i)) && !LOCAL_SYMBOLS.has(local[i]!)) return false;
  }
  return true;
}

function isDomain(domain: string): boolean {
  let labels = 0;
  let start = 0;
  for (let i = 0; i <= domain.length; i++) {
    if (i < domain.length && domain[i] !== '.') {
      const code = domain.charCodeAt(i);
      if (!isLetterOrDigit(code) && domain[i] !== '-') return false;
      continue;
    }
    // A label ends here: 1–63 characters, no hyphen at either end.
    const length = i - start;
    if (length < 1 || length > MAX_LABEL_LENGTH || domain[start] === '-' || domain[i - 1] === '-') return false;
    labels++;
    start = i + 1;
  }
  return labels >= 2;
}

/** Whether `value` is an address by the rule above. Looks at the length before anything else. */
export function isEmailAddress(value: string): boolean {
  if (value.length > MAX_EMAIL_LENGTH) return false;
  const at = value.indexOf('@');
  if (at === -1 || value.indexOf('@', at + 1) !== -1) return false;
  return isLocalPart(value.slice(0, at)) && isDomain(value.slice(at + 1));
}
