import type { GraphQLFormattedError } from 'graphql';
import { FETCH_FAILURE, failedFetchResult } from './fetch-failure';
import { maskError, stripSuggestions } from './mask-errors';

const error = (message: string, extensions?: Record<string, unknown>, rest: Partial<GraphQLFormattedError> = {}) => ({
  message,
  ...rest,
  ...(extensions ? { extensions } : {}),
});

describe('maskError', () => {
  it('keeps a known client code with its message, location and path', () => {
    const masked = maskError(
      error(
        'Cannot query field "nme" on type "Product".',
        { code: 'GRAPHQL_VALIDATION_FAILED' },
        {
          locations: [{ line: 1, column: 14 }],
          path: ['products', 0, 'nme'],
        },
      ),
    );
    expect(masked).toEqual({
      message: 'Cannot query field "nme" on type "Product".',
      locations: [{ line: 1, column: 14 }],
      path: ['products', 0, 'nme'],
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });

  it('keeps only allow-listed extensions', () => {
    const masked = maskError(
      error('Too expensive', {
        code: 'BAD_REQUEST',
        maximum: 1000,
        estimated: 5000,
        cost: { estimated: 5000 },
        retryAfter: 3,
        stacktrace: ['at x'],
        exception: { stacktrace: ['at y'] },
        response: { url: 'http://10.0.0.1/graphql', status: 500, body: 'boom' },
        http: { status: 400 },
        tenantOf: 'globex',
      }),
    );
    expect(masked.extensions).toEqual({
      code: 'BAD_REQUEST',
      maximum: 1000,
      estimated: 5000,
      cost: { estimated: 5000 },
      retryAfter: 3,
    });
  });

  it('keeps a known refusal reason of the gateway, and drops any other', () => {
    expect(
      maskError(error('This tenant is suspended.', { code: 'FORBIDDEN', reason: 'TENANT_SUSPENDED' })).extensions,
    ).toEqual({
      code: 'FORBIDDEN',
      reason: 'TENANT_SUSPENDED',
    });
    expect(
      maskError(error('Forbidden', { code: 'FORBIDDEN', reason: 'user 42 lacks role admin in acme' })).extensions,
    ).toEqual({ code: 'FORBIDDEN' });
    expect(
      maskError(error('Forbidden', { code: 'FORBIDDEN', reason: 'TENANT_SUSPENDED', serviceName: 'accounts' }))
        .extensions,
    ).toEqual({
      code: 'FORBIDDEN',
    });
  });

  it.each([
    ['an unknown code', { code: 'E11000_DUPLICATE_KEY' }],
    ['no code', undefined],
    ['INTERNAL_SERVER_ERROR', { code: 'INTERNAL_SERVER_ERROR' }],
  ])('answers %s with a generic INTERNAL_SERVER_ERROR', (_label, extensions) => {
    expect(maskError(error('Cannot read properties of undefined (reading "tenants")', extensions))).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('writes its own text for downstream failures', () => {
    expect(maskError(error('connect ECONNREFUSED 10.0.0.7:4003', { code: 'DOWNSTREAM_SERVICE_ERROR' })).message).toBe(
      'A downstream service failed',
    );
    expect(maskError(error('The operation was aborted due to timeout', { code: 'SUBGRAPH_TIMEOUT' })).message).toBe(
      'A downstream service timed out',
    );
  });

  it('replaces the text of the introspection refusal', () => {
    const masked = maskError(
      error(
        'GraphQL introspection is not allowed by Apollo Server, but the query contained __schema or __type. To enable introspection, pass introspection: true to ApolloServer in production',
        {
          code: 'GRAPHQL_VALIDATION_FAILED',
          validationErrorCode: 'INTROSPECTION_DISABLED',
        },
      ),
    );
    expect(masked).toEqual({
      message:
        'Introspection needs the developer role, which this credential lacks: ask for a token with the developer role (in development: npm run token -- --tenant <tenant> --user <you> --roles developer).',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
    });
  });

  describe('errors a subgraph returned', () => {
    it.each([['NOT_FOUND'], ['FORBIDDEN'], ['BAD_USER_INPUT']])('passes %s through with its message', (code) => {
      const masked = maskError(error('No such product', { code, serviceName: 'products' }, { path: ['product'] }));
      expect(masked).toEqual({ message: 'No such product', path: ['product'], extensions: { code } });
    });

    it.each([
      ['UNAUTHENTICATED (a refused internal token)', 'UNAUTHENTICATED'],
      ['a code of its own', 'MONGO_ERROR'],
      ['DOWNSTREAM_SERVICE_ERROR (no code at all)', 'DOWNSTREAM_SERVICE_ERROR'],
    ])('turns %s into a generic downstream failure', (_label, code) => {
      const masked = maskError(error('internal token refused: query-mismatch', { code, serviceName: 'inventory' }));
      expect(masked).toEqual({
        message: 'A downstream service failed',
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      });
    });

    // What every real subgraph crash looks like (the subgraph kit masks unknown errors to INTERNAL_SERVER_ERROR):
    // the client must read it as the subgraph's failure, not the gateway's.
    it('turns a crash into a generic downstream failure, keeping its path', () => {
      const masked = maskError(
        error(
          'E11000 at mongodb://10.1.2.3',
          { code: 'INTERNAL_SERVER_ERROR', serviceName: 'accounts' },
          { path: ['me'] },
        ),
      );
      expect(masked).toEqual({
        message: 'A downstream service failed',
        path: ['me'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      });
    });

    it.each([
      ['SUBGRAPH_TIMEOUT', { code: 'SUBGRAPH_TIMEOUT', reason: 'CIRCUIT_OPEN' }],
      ['a gateway refusal reason', { code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' }],
    ])('does not believe a subgraph that sends %s: only the gateway writes those', (_label, extensions) => {
      const masked = maskError(error('timed out', { ...extensions, serviceName: 'inventory' }));
      expect(masked).toEqual({
        message: 'A downstream service failed',
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      });
    });
  });

  describe('errors the data source wrote for a failed fetch', () => {
    // As the gateway's executor forwards them: its extensions spread into a new object, with serviceName added.
    const forwarded = (failure: Parameters<typeof failedFetchResult>[2]) => {
      const [written] = failedFetchResult('{ me { id } }', undefined, failure).errors;
      if (!written) throw new Error('no error written');
      return { ...written, extensions: { ...written.extensions, serviceName: 'accounts' } };
    };

    it('keeps SUBGRAPH_TIMEOUT and the path, with our text', () => {
      expect(maskError(forwarded({ code: 'SUBGRAPH_TIMEOUT', message: 'x' }))).toEqual({
        message: 'A downstream service timed out',
        path: ['me'],
        extensions: { code: 'SUBGRAPH_TIMEOUT' },
      });
    });

    it('keeps the CIRCUIT_OPEN reason, and never the mark itself', () => {
      const masked = maskError(forwarded({ code: 'DOWNSTREAM_SERVICE_ERROR', message: 'x', reason: 'CIRCUIT_OPEN' }));
      expect(masked).toEqual({
        message: 'A downstream service failed',
        path: ['me'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', reason: 'CIRCUIT_OPEN' },
      });
      expect(Object.getOwnPropertySymbols(masked.extensions)).toEqual([]);
      expect((masked.extensions as Record<symbol, unknown>)[FETCH_FAILURE]).toBeUndefined();
    });
  });

  it('strips suggestions from every message it keeps', () => {
    const masked = maskError(
      error(
        'Variable "$r" got invalid value "ADMN"; Value "ADMN" does not exist in "Role" enum. Did you mean the enum value "ADMIN"?',
        {
          code: 'BAD_USER_INPUT',
        },
      ),
    );
    expect(masked.message).toBe('Variable "$r" got invalid value "ADMN"; Value "ADMN" does not exist in "Role" enum.');
  });
});

describe('stripSuggestions', () => {
  it.each([
    ['Cannot query field "nme" on type "Product". Did you mean "name"?', 'Cannot query field "nme" on type "Product".'],
    ['Unknown type "Prodct". Did you mean "Product" or "Products"?', 'Unknown type "Prodct".'],
    [
      'Field "x" is not defined by type "In". Did you mean "a", "b", or "c"? Value is required.',
      'Field "x" is not defined by type "In". Value is required.',
    ],
    ['Nothing to strip.', 'Nothing to strip.'],
  ])('%s', (input, output) => {
    expect(stripSuggestions(input)).toBe(output);
  });
});

describe('stripSuggestions on what a client can put in a message', () => {
  /** The regular expression it replaced: same output, but quadratic on long runs of spaces. */
  const reference = (message: string) => message.replace(/\s*Did you mean [^?]*\?/g, '');

  it('agrees with the regular expression on generated messages', () => {
    const atoms = ['Did you mean ', ' ', '\t', '\n', '?', 'a', '"x"', 'Did you', '\u00a0'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const differing: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      let message = '';
      for (let i = 0, length = 1 + (next() % 10); i < length; i++) message += atoms[next() % atoms.length];
      if (stripSuggestions(message) !== reference(message)) differing.push(message);
    }
    expect(differing).toEqual([]);
  });

  it('is linear: 200 000 spaces or 40 000 "Did you mean " (the pattern took seconds on a fifth of these)', () => {
    const started = process.cpuUsage();
    expect(stripSuggestions(`${' '.repeat(200_000)}x`)).toHaveLength(200_001);
    expect(stripSuggestions(`${'Did you mean '.repeat(40_000)}x`)).toHaveLength(40_000 * 13 + 1);
    expect(stripSuggestions(`a${' '.repeat(200_000)}Did you mean "b"?`)).toBe('a');
    const { user, system } = process.cpuUsage(started);
    expect((user + system) / 1000).toBeLessThan(200);
  });
});
