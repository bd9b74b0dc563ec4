import { GraphQLError, buildSchema, parse, validate } from 'graphql';
import { formatForClient } from './guards';
import {
  GRAPHQL_JS_TOO_MANY_ERRORS,
  GRAPHQL_JS_VALIDATION_ABORTED,
  MAX_VALIDATION_ERRORS,
  codeAbandonedWork,
} from './abandoned-work';

const schema = buildSchema('type Query { a: String }');
const validationFailed = (message: string) => ({ message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });

describe("graphql-js's texts, as the installed version writes them", () => {
  it('ends a list of too many errors with the text recognised here', () => {
    const errors = validate(
      schema,
      parse(`{ ${Array.from({ length: 150 }, (_, i) => `f${i}`).join(' ')} }`),
      undefined,
      {
        maxErrors: MAX_VALIDATION_ERRORS,
      },
    );
    expect(errors).toHaveLength(MAX_VALIDATION_ERRORS + 1);
    expect(errors.at(-1)?.message).toBe(GRAPHQL_JS_TOO_MANY_ERRORS);
  });

  it('gives up on a document too costly to validate with the text recognised here', () => {
    const errors = validate(schema, parse(`{${' __typename'.repeat(1500)} }`));
    expect(errors.map((e) => e.message)).toEqual([GRAPHQL_JS_VALIDATION_ABORTED]);
  });
});

describe('codeAbandonedWork', () => {
  it('codes the end of a list of validation errors, with the maximum', () => {
    expect(codeAbandonedWork(validationFailed(GRAPHQL_JS_TOO_MANY_ERRORS))).toEqual({
      message: 'Too many validation errors: validation stopped after 100.',
      extensions: {
        code: 'GRAPHQL_VALIDATION_FAILED',
        validationErrorCode: 'MAX_VALIDATION_ERRORS_LIMIT',
        maximum: 100,
      },
    });
  });

  it('codes validation that gave up', () => {
    expect(codeAbandonedWork(validationFailed(GRAPHQL_JS_VALIDATION_ABORTED))).toEqual({
      message: 'The document is too complex to validate.',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'MAX_VALIDATION_WORK_LIMIT' },
    });
  });

  it.each([
    ['GRAPHQL_PARSE_FAILED', 'The document could not be parsed.'],
    ['GRAPHQL_VALIDATION_FAILED', 'The document could not be validated.'],
    ['BAD_USER_INPUT', 'The request could not be processed.'],
  ])('replaces a stack overflow message under %s with a generic one, keeping the code', (code, message) => {
    const formatted = {
      message: 'Maximum call stack size exceeded',
      locations: [{ line: 1, column: 2 }],
      extensions: { code },
    };
    expect(codeAbandonedWork(formatted)).toEqual({ ...formatted, message });
  });

  it('recognises a stack overflow by the RangeError it wraps, whatever the message', () => {
    // How Apollo Server reports a parser that overflowed: SyntaxError(ensureGraphQLError(RangeError)).
    const overflow = new RangeError('Maximum call stack size exceeded');
    const wrapped = new GraphQLError('Syntax Error: x', {
      originalError: new GraphQLError(overflow.message, { originalError: overflow }),
    });
    const formatted = { message: 'Syntax Error: x', extensions: { code: 'GRAPHQL_PARSE_FAILED' } };
    expect(codeAbandonedWork(formatted, wrapped).message).toBe('The document could not be parsed.');
    expect(codeAbandonedWork(formatted, new GraphQLError('Syntax Error: x'))).toBe(formatted);
  });

  it('turns a stack overflow under any other code into an internal error', () => {
    expect(
      codeAbandonedWork({ message: 'Maximum call stack size exceeded', extensions: { code: 'NOT_FOUND' } }),
    ).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('leaves subgraph errors to the mask and every other error as it is', () => {
    const fromSubgraph = {
      message: GRAPHQL_JS_VALIDATION_ABORTED,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', serviceName: 'accounts' },
    };
    expect(codeAbandonedWork(fromSubgraph)).toBe(fromSubgraph);
    const ordinary = validationFailed('Cannot query field "b" on type "Query".');
    expect(codeAbandonedWork(ordinary)).toBe(ordinary);
  });
});

describe('formatForClient', () => {
  it('never sends a stack overflow, whichever code it came with', () => {
    for (const code of ['GRAPHQL_PARSE_FAILED', 'BAD_USER_INPUT', 'INTERNAL_SERVER_ERROR', undefined]) {
      const formatted = formatForClient({
        message: 'Maximum call stack size exceeded',
        extensions: code ? { code } : {},
      });
      expect(JSON.stringify(formatted)).not.toMatch(/Maximum call stack|RangeError|stack/i);
      expect(formatted.extensions?.code).toEqual(expect.any(String));
    }
  });
});
