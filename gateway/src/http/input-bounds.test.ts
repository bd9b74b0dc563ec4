/**
 * Bounded work on client input, over real HTTP against the test platform's gateway and fixture subgraphs: JSON
 * nested 100,000 levels deep, query text nested 10,000 levels deep and documents over the plan's token limit are
 * refused with a stable code and status before anything recursive walks them, say nothing internal, reach no
 * subgraph, and leave the gateway serving the next tenant.
 */
import { randomBytes } from 'node:crypto';
import { operationId } from '../persisted/manifest';
import { byId, testManifest } from '../testing/manifests';
import { startTestPlatform, type GraphQLHttpResult, type TestPlatform } from '../testing/platform';

const WHO = 'query Who { whoami { tenant } }';
const GREET = 'query Greet($r: Role!) { greet(role: $r) }';
const DEEP_JSON = 100_000;
const DEEP_TEXT = 10_000;

const deepArray = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
/** A raw JSON body: the deep value is spliced in as text, as an attacker sends it (JSON.stringify would overflow). */
const rawBody = (fields: Record<string, string>) =>
  `{${Object.entries(fields)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
const nestedSelections = (levels: number) => `{${'a{'.repeat(levels)}b${'}'.repeat(levels + 1)}`;

function subgraphRequests(platform: TestPlatform): number {
  return Object.values(platform.subgraphs).reduce((n, s) => n + s.requests.length, 0);
}

/** The refusal's status and codes, and that its body says nothing about the stack or the error's class. */
function expectCodedRefusal(res: GraphQLHttpResult, status: number, code: string): Record<string, unknown> {
  expect({ status: res.status, codes: res.body.errors?.map((e) => e.extensions?.code), data: res.body.data }).toEqual({
    status,
    codes: [code],
    data: undefined,
  });
  expect(res.text).not.toMatch(/stack|Maximum call stack|RangeError|Internal server error/i);
  return res.body.errors![0]!.extensions!;
}

describe('bounds on client input', () => {
  let platform: TestPlatform;
  /** A tenant whose plan takes bodies of 2 MiB, so the depth bound and not the body size is what answers. */
  let deepToken: string;
  let globexToken: string;
  let partnerKey: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ maxBodyBytes: 2 * 1_048_576 });
    const { tenants, manifests } = platform.controlPlane;
    await tenants.updatePlan('enterprise', { limits: { maxBodyBytes: 2 * 1_048_576 } });
    await tenants.createTenant({ id: 'deep-input', name: 'Deep Input', plan: 'enterprise' });
    deepToken = await platform.issuer.sign({ tenant: 'deep-input' });
    globexToken = await platform.issuer.sign({ tenant: 'globex' });
    await manifests.publish('deep-input', 'deep-erp', testManifest(platform.config.supergraphPath, GREET));
    ({ key: partnerKey } = await platform.issueApiKey({
      tenantId: 'deep-input',
      clientName: 'Deep ERP',
      scopes: ['catalog:read'],
      manifest: 'deep-erp',
      expiresAt: new Date(Date.now() + 86_400_000),
    }));
  });
  afterAll(async () => {
    await platform?.stop();
  });
  beforeEach(() => {
    for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
  });

  /** Another tenant's ordinary request, right after: served normally. */
  async function expectOthersServed(): Promise<void> {
    const res = await platform.graphql({ query: WHO }, { token: globexToken });
    expect({ status: res.status, data: res.body.data, errors: res.body.errors }).toEqual({
      status: 200,
      data: { whoami: { tenant: 'globex' } },
      errors: undefined,
    });
  }

  describe(`JSON nested ${DEEP_JSON.toLocaleString('en')} levels deep`, () => {
    it.each([
      [
        'undeclared variables, lists',
        { query: JSON.stringify(WHO), variables: `{"x":${deepArray(DEEP_JSON)}}` },
        'variables',
      ],
      [
        'undeclared variables, objects',
        { query: JSON.stringify(WHO), variables: `{"x":${deepObject(DEEP_JSON)}}` },
        'variables',
      ],
      [
        'a declared variable',
        { query: JSON.stringify(GREET), variables: `{"r":${deepArray(DEEP_JSON)}}` },
        'variables',
      ],
      ['extensions', { query: JSON.stringify(WHO), extensions: `{"tracing":${deepObject(DEEP_JSON)}}` }, 'extensions'],
      [
        'an APQ request by id',
        { variables: `{"x":${deepArray(DEEP_JSON)}}`, extensions: JSON.stringify(byId(WHO).extensions) },
        'variables',
      ],
      [
        'a field GraphQL does not define',
        { query: JSON.stringify(WHO), mine: deepArray(DEEP_JSON) },
        'The request body',
      ],
    ])('in %s: 400 BAD_USER_INPUT naming the bound, and the next tenant is served', async (_label, fields, subject) => {
      const res = await platform.graphql(rawBody(fields), { token: deepToken });
      const extensions = expectCodedRefusal(res, 400, 'BAD_USER_INPUT');
      expect(extensions.maximum).toBe(64);
      expect(res.body.errors![0]!.message).toBe(
        `${subject === 'The request body' ? subject : `"${subject}"`} is nested too deeply: at most 64 levels of objects and lists.`,
      );
      expect(subgraphRequests(platform)).toBe(0);
      await expectOthersServed();
    });

    it("in a partner's persisted operation: refused before the id is resolved", async () => {
      const res = await platform.graphql(
        rawBody({ extensions: JSON.stringify(byId(GREET).extensions), variables: `{"r":${deepArray(DEEP_JSON)}}` }),
        {
          apiKey: partnerKey,
        },
      );
      expectCodedRefusal(res, 400, 'BAD_USER_INPUT');
      await expectOthersServed();
    });

    it('in a JWT header and payload (as deep as a header line allows): 401 UNAUTHENTICATED', async () => {
      const b64 = (json: string) => Buffer.from(json).toString('base64url');
      // Node refuses header sections over 16 KiB (431): 4,000 levels fit, deeper than what overflowed the stack in the body.
      const header = b64(`{"alg":"ES256","x":${deepArray(4_000)}}`);
      const payload = b64(`{"tenant":"acme","y":${deepArray(1_000)}}`);
      const token = `${header}.${payload}.c2ln`;
      const res = await platform.graphql({ query: WHO }, { token });
      expectCodedRefusal(res, 401, 'UNAUTHENTICATED');
      await expectOthersServed();
    });

    it('is logged with the code and the reason', async () => {
      const res = await platform.graphql(
        rawBody({ query: JSON.stringify(WHO), variables: `{"x":${deepArray(DEEP_JSON)}}` }),
        { token: deepToken },
      );
      const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'));
      expect(line).toMatchObject({
        status: 400,
        tenant: 'deep-input',
        errorCodes: ['BAD_USER_INPUT'],
        reason: 'json-too-deep',
      });
    });

    it('lets values up to the bound through to coercion, which answers for their type', async () => {
      const atBound = await platform.graphql(
        rawBody({ query: JSON.stringify(GREET), variables: `{"r":${deepArray(63)}}` }),
        { token: deepToken },
      );
      expectCodedRefusal(atBound, 400, 'BAD_USER_INPUT');
      expect(atBound.body.errors![0]!.message).toMatch(/^Variable "\$r"/);
      const fine = await platform.graphql(
        rawBody({ query: JSON.stringify(GREET), variables: '{"r":"ADMIN","unused":' + deepObject(60) + '}' }),
        {
          token: deepToken,
        },
      );
      expect(fine.body).toMatchObject({ data: { greet: 'hello ADMIN' } });
    });
  });

  describe(`query text nested ${DEEP_TEXT.toLocaleString('en')} levels deep`, () => {
    it.each([
      ['selection sets', nestedSelections(DEEP_TEXT)],
      ['a list argument', `{ greet(role: ${'['.repeat(DEEP_TEXT)}ADMIN${']'.repeat(DEEP_TEXT)}) }`],
      ['an object argument', `{ greet(role: ${'{a:'.repeat(DEEP_TEXT)}1${'}'.repeat(DEEP_TEXT)}) }`],
      ['a variable type', `query($r: ${'['.repeat(DEEP_TEXT)}Role${']'.repeat(DEEP_TEXT)}) { whoami { tenant } }`],
      [
        'an introspection query',
        `{ __schema { types { fields { type ${'{ ofType '.repeat(DEEP_TEXT)}{ name }${' }'.repeat(DEEP_TEXT)} } } } }`,
      ],
    ])('in %s: 400 GRAPHQL_PARSE_FAILED naming the bound, and the next tenant is served', async (_label, query) => {
      const res = await platform.graphql({ query }, { token: deepToken });
      const extensions = expectCodedRefusal(res, 400, 'GRAPHQL_PARSE_FAILED');
      expect(extensions.maximum).toBe(128);
      expect(res.body.errors![0]!.message).toBe(
        'The document is nested too deeply: at most 128 levels of braces, parentheses and brackets.',
      );
      expect(subgraphRequests(platform)).toBe(0);
      await expectOthersServed();
    });

    it('registered through APQ, or named by the hash afterwards: refused the same way', async () => {
      const query = nestedSelections(DEEP_TEXT + 1);
      const registration = await platform.graphql({ query, ...byId(query) }, { token: deepToken });
      expectCodedRefusal(registration, 400, 'GRAPHQL_PARSE_FAILED');
      // The registration stored the text under its hash before it was refused; named by the hash, it is refused again.
      const byHash = await platform.graphql(byId(query), { token: deepToken });
      expectCodedRefusal(byHash, 400, 'GRAPHQL_PARSE_FAILED');
      for (const res of [registration, byHash]) expect(res.body.errors![0]!.extensions!.maximum).toBe(128);
      // APQ texts are kept per tenant (persisted/apq.ts): another tenant naming the hash finds nothing.
      expectCodedRefusal(await platform.graphql(byId(query), { token: globexToken }), 200, 'PERSISTED_QUERY_NOT_FOUND');
      await expectOthersServed();
    });

    it('counts brackets outside comments only', async () => {
      const res = await platform.graphql({ query: `${WHO} # ${'{'.repeat(DEEP_TEXT)}` }, { token: deepToken });
      expect(res.body).toMatchObject({ data: { whoami: { tenant: 'deep-input' } } });
    });

    it('parses a document at the bound and leaves it to the plan: MAX_DEPTH_LIMIT at 128 levels, the parse bound at 129', async () => {
      const selections = (levels: number) =>
        `{ products ${'{ related '.repeat(levels - 2)}{ id }${' }'.repeat(levels - 2)} }`;
      const atBound = await platform.graphql({ query: selections(128) }, { token: deepToken });
      expect(expectCodedRefusal(atBound, 400, 'GRAPHQL_VALIDATION_FAILED')).toMatchObject({
        validationErrorCode: 'MAX_DEPTH_LIMIT',
        maximum: 20,
      });
      const over = await platform.graphql({ query: selections(129) }, { token: deepToken });
      expectCodedRefusal(over, 400, 'GRAPHQL_PARSE_FAILED');
    });
  });

  describe("the plan's token limit, before validation", () => {
    const typenames = (n: number) => `{${' __typename'.repeat(n)} }`;

    it('answers { __typename ×5000 } with MAX_TOKENS_LIMIT, maximum and actual (pro plan: 5000 tokens)', async () => {
      const res = await platform.graphql({ query: typenames(5000) });
      const extensions = expectCodedRefusal(res, 400, 'GRAPHQL_VALIDATION_FAILED');
      expect(extensions).toEqual({
        code: 'GRAPHQL_VALIDATION_FAILED',
        validationErrorCode: 'MAX_TOKENS_LIMIT',
        maximum: 5000,
        actual: 5002,
      });
      expect(res.body.errors![0]!.message).toBe('The document has too many tokens.');
      const line = platform.logs.find((l) => l.msg === 'request' && l.requestId === res.headers.get('x-request-id'));
      expect(line).toMatchObject({ errorCodes: ['GRAPHQL_VALIDATION_FAILED'], reason: 'too-many-tokens' });
      expect(subgraphRequests(platform)).toBe(0);
      await expectOthersServed();
    });

    it("applies the caller's plan to a text resolved from APQ, and never another tenant's text", async () => {
      // `query Q<random>` and 5,998 more fields: 6,002 tokens; a text of its own per run (APQ entries outlive a run).
      const query = `query Q${randomBytes(6).toString('hex')} ${typenames(5998)}`;
      // Over the pro plan's 5,000 tokens: refused at registration, and again when named by its hash.
      for (const res of [await platform.graphql({ query, ...byId(query) }), await platform.graphql(byId(query))])
        expect(expectCodedRefusal(res, 400, 'GRAPHQL_VALIDATION_FAILED')).toMatchObject({
          validationErrorCode: 'MAX_TOKENS_LIMIT',
          maximum: 5000,
          actual: 6002,
        });
      // acme's registration is acme's: the enterprise tenant naming the hash finds nothing, and registering the same
      // text itself, it is held to its own plan (within its 15,000 tokens graphql-js's validation gives up, coded).
      expectCodedRefusal(await platform.graphql(byId(query), { token: deepToken }), 200, 'PERSISTED_QUERY_NOT_FOUND');
      const registered = await platform.graphql({ query, ...byId(query) }, { token: deepToken });
      expect(expectCodedRefusal(registered, 400, 'GRAPHQL_VALIDATION_FAILED').validationErrorCode).toBe(
        'MAX_VALIDATION_WORK_LIMIT',
      );
      expect(operationId(query)).toBe(byId(query).extensions.persistedQuery.sha256Hash);
    });
  });

  describe('validation that gives up', () => {
    it('answers a document too costly to validate with MAX_VALIDATION_WORK_LIMIT and our own message', async () => {
      const res = await platform.graphql({ query: `{${' __typename'.repeat(1500)} }` });
      expect(expectCodedRefusal(res, 400, 'GRAPHQL_VALIDATION_FAILED')).toEqual({
        code: 'GRAPHQL_VALIDATION_FAILED',
        validationErrorCode: 'MAX_VALIDATION_WORK_LIMIT',
      });
      expect(res.body.errors![0]!.message).toBe('The document is too complex to validate.');
      await expectOthersServed();
    });

    it('codes the error that ends a list of 100 validation errors', async () => {
      const res = await platform.graphql({ query: `{ ${Array.from({ length: 150 }, (_, i) => `f${i}`).join(' ')} }` });
      expect(res.status).toBe(400);
      const errors = res.body.errors ?? [];
      expect(errors).toHaveLength(101);
      expect(errors.every((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
      expect(errors[100]).toEqual({
        message: 'Too many validation errors: validation stopped after 100.',
        extensions: {
          code: 'GRAPHQL_VALIDATION_FAILED',
          validationErrorCode: 'MAX_VALIDATION_ERRORS_LIMIT',
          maximum: 100,
        },
      });
    });
  });
});
