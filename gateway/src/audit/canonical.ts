/**
 * The canonical encoding an audit event is hashed over (chain.ts). Two writers, or a writer and `audit verify`
 * years later, must produce the same bytes for the same event, so the encoding is fixed here and nowhere else:
 *
 * - JSON text (UTF-8), no whitespace;
 * - object keys sorted by UTF-16 code units (JavaScript's default sort), at every level;
 * - keys whose value is `undefined` are left out (as if absent); `null` is kept;
 * - numbers must be safe integers (written in decimal, no exponent): a float has no single decimal spelling across
 *   languages, so anything fractional is stored as a string by whoever builds the event — a float is refused here;
 * - strings as JSON.stringify writes them; booleans `true`/`false`; arrays in their order;
 * - dates are not accepted: the event carries time as an ISO-8601 string (`toISOString`, millisecond precision, Z).
 *
 * Depth is bounded (events are built by the gateway from bounded inputs; the bound only stops a bug from
 * overflowing the stack).
 */
const MAX_DEPTH = 32;

export class CanonicalEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalEncodingError';
  }
}

export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

function encode(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalEncodingError('value nested too deeply');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalEncodingError('only safe integers can be encoded');
      // -0 and 0 are one number: one spelling.
      return String(value === 0 ? 0 : value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => encode(item, depth + 1)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new CanonicalEncodingError('only plain objects');
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const item = record[key];
        if (item === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${encode(item, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalEncodingError(`a ${typeof value} cannot be encoded`);
  }
}
