/**
 * The explorer page's pure logic (client/headers.ts, client/token.ts, client/tools.ts): which Headers-tab entries are
 * sent, which are refused and why, how a gateway refusal is explained, how a token's expiry reads, and which
 * variables a document still needs before it is priced.
 */
import { checkUserHeaders, explainRefusal } from './client/headers';
import { expiryText } from './client/token';
import { missingVariables } from './client/tools';

describe('missingVariables', () => {
  const sized = 'query Sized($n: Int!, $after: String, $m: Int! = 2) { products(first: $n) { edges { cursor } } }';

  it("names the operation's required variables without a default that are not given (null is not given)", () => {
    expect(missingVariables(sized, undefined)).toEqual(['n']);
    expect(missingVariables(sized, { n: null })).toEqual(['n']);
    expect(missingVariables(sized, [7])).toEqual(['n']);
    expect(missingVariables(sized, { n: 7 })).toEqual([]);
    expect(missingVariables(sized, { n: 0 })).toEqual([]);
    expect(missingVariables('query ($a: ID!, $b: [Int!]!) { node(id: $a) { id } }', { b: [] })).toEqual(['a']);
  });

  it("leaves a document that does not parse, or holds several operations, to the gateway's answer", () => {
    expect(missingVariables('query ($n: Int!) { products(first: $n', {})).toEqual([]);
    expect(missingVariables(`${sized} query Other($x: Int!) { __typename }`, {})).toEqual([]);
    expect(missingVariables('{ products(first: 3) { edges { cursor } } }', undefined)).toEqual([]);
  });
});

describe('checkUserHeaders', () => {
  it('sends ordinary headers as written, numbers as text', () => {
    expect(checkUserHeaders({ 'X-Request-Id': 'abc-12345678', traceparent: '00-1-2-01', 'X-Count': 3 })).toEqual({
      send: { 'X-Request-Id': 'abc-12345678', traceparent: '00-1-2-01', 'X-Count': '3' },
      refused: [],
    });
    expect(checkUserHeaders(undefined)).toEqual({ send: {}, refused: [] });
  });

  it("refuses, with a reason each, the explorer's own headers, the browser's forbidden ones and non-headers", () => {
    const { send, refused } = checkUserHeaders({
      Authorization: 'Bearer x',
      'Tollgate-Preview-Roles': 'admin',
      'content-type': 'text/plain',
      Cookie: 'a=b',
      Host: 'evil.test',
      'Sec-Fetch-Site': 'none',
      'Proxy-Authorization': 'x',
      'bad name': 'x',
      'X-Object': { a: 1 },
      'X-Split': 'a\r\nX-Injected: 1',
      'X-Api-Key': 'tg_k.s',
    });
    expect(send).toEqual({ 'X-Api-Key': 'tg_k.s' });
    expect(refused).toEqual([
      'Authorization was not sent: the explorer sends your token from the token box.',
      'Tollgate-Preview-Roles was not sent: choose the persona with “View as”.',
      'content-type was not sent: the explorer always sends JSON.',
      'Cookie was not sent: browsers do not let a page set it.',
      'Host was not sent: browsers do not let a page set it.',
      'Sec-Fetch-Site was not sent: browsers do not let a page set it.',
      'Proxy-Authorization was not sent: browsers do not let a page set it.',
      '“bad name” is not a valid header name.',
      'X-Object was not sent: its value must be a string.',
      'X-Split was not sent: its value has a line break or is too long.',
    ]);
  });

  it('refuses what is not one object of headers, and too many of them', () => {
    expect(checkUserHeaders(['x']).refused).toHaveLength(1);
    expect(checkUserHeaders('x').refused).toHaveLength(1);
    const many = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`X-H${i}`, 'v']));
    expect(checkUserHeaders(many)).toEqual({ send: {}, refused: ['At most 30 headers can be added.'] });
  });
});

describe('explainRefusal', () => {
  const error = (code: string, message: string, reason?: string) => ({
    errors: [{ message, extensions: { code, ...(reason ? { reason } : {}) } }],
  });

  it('is silent on success', () => {
    expect(explainRefusal(200, { errors: [] }, { 'X-A': '1' }, 'acme')).toBeUndefined();
  });

  it('names X-Api-Key when the gateway refuses two credentials', () => {
    expect(
      explainRefusal(401, error('UNAUTHENTICATED', 'Missing or invalid credentials'), { 'X-Api-Key': 'k' }, 'acme'),
    ).toBe(
      "The gateway refused the request (401 UNAUTHENTICATED: Missing or invalid credentials). X-Api-Key is a partner's credential: the explorer already authenticates with your token, and a request carrying two credentials is refused. Remove X-Api-Key from the Headers tab.",
    );
  });

  it("names the tenant header and the token's tenant on a mismatch", () => {
    const text = explainRefusal(403, error('FORBIDDEN', 'mismatch', 'TENANT_MISMATCH'), { 'X-Tenant-Id': 'g' }, 'acme');
    expect(text).toContain('403 FORBIDDEN: mismatch');
    expect(text).toContain("X-Tenant-Id names another tenant than your token's (acme)");
  });

  it("otherwise quotes the gateway and lists the user's headers", () => {
    expect(explainRefusal(400, error('BAD_REQUEST', 'no'), { 'X-A': '1', 'X-B': '2' }, 'acme')).toBe(
      'The gateway refused the request (400 BAD_REQUEST: no). Headers you added: X-A, X-B.',
    );
    expect(explainRefusal(429, error('RATE_LIMITED', 'wait'), {}, 'acme')).toBe(
      'The gateway refused the request (429 RATE_LIMITED: wait).',
    );
  });
});

describe('expiryText', () => {
  const now = 1_700_000_000_000;
  it.each([
    [now / 1000 + 2 * 3600 + 65, 'expires in 2h 01m', false],
    [now / 1000 + 125, 'expires in 2m 05s', false],
    [now / 1000 + 9, 'expires in 9s', false],
    [now / 1000, 'expired', true],
    [now / 1000 - 60, 'expired', true],
  ])('exp %d reads "%s"', (exp, text, expired) => {
    expect(expiryText({ exp }, now)).toEqual({ text, expired });
  });
  it('says nothing without a numeric exp', () => {
    expect(expiryText({}, now)).toBeUndefined();
    expect(expiryText({ exp: '1' }, now)).toBeUndefined();
  });
});
