import { Lexer, Source, TokenKind, parse } from 'graphql';
import { countTokens, documentNestingExceeds } from './document-bounds';

describe('documentNestingExceeds', () => {
  it.each([
    ['{ a }', 1],
    ['{ a { b } c { d { e } } }', 3],
    ['query($v: [[Int!]]) { a(x: {y: [1, {z: 2}]}) { b } }', 5],
    ['{ a } { b } { c }', 1],
    ['', 0],
  ])('measures %s as %i levels', (text, levels) => {
    expect(documentNestingExceeds(text, levels)).toBe(false);
    if (levels > 0) expect(documentNestingExceeds(text, levels - 1)).toBe(true);
  });

  it.each([
    ['a comment', `{ a } # ${'{'.repeat(500)}\n`],
    ['a comment ended by a carriage return', `# ${'[('.repeat(500)}\r{ a }`],
    ['a string', `{ a(s: "${'{'.repeat(500)}") }`],
    ['a string with escaped quotes', `{ a(s: "\\"${'{'.repeat(500)}\\"") }`],
    ['a block string', `{ a(s: """${'{\n'.repeat(500)}""") }`],
    ['a block string with an escaped delimiter', `{ a(s: """\\"""${'{'.repeat(500)}""") }`],
  ])('does not count brackets inside %s', (_label, text) => {
    expect(documentNestingExceeds(text, 2)).toBe(false);
  });

  it('counts brackets after a string that a line terminator ended, as the lexer does', () => {
    expect(documentNestingExceeds(`{ a(s: "open\n${'{'.repeat(10)}`, 5)).toBe(true);
  });

  it('counts brackets after the string a backslash did not escape', () => {
    expect(documentNestingExceeds(`{ a(s: "\\\\") ${'{'.repeat(10)} }`, 5)).toBe(true);
  });

  it('ignores closing brackets that close nothing', () => {
    expect(documentNestingExceeds(`${'}'.repeat(100)}{ a }`, 1)).toBe(false);
  });

  it("scans 10,000 levels — which overflow graphql-js's parser — without recursing", () => {
    const deep = `{${'a{'.repeat(10_000)}b${'}'.repeat(10_001)}`;
    expect(() => parse(deep)).toThrow(RangeError);
    expect(documentNestingExceeds(deep, 128)).toBe(true);
    expect(documentNestingExceeds(deep, 10_001)).toBe(false);
  });

  it("agrees with graphql-js's lexer on random texts of brackets, strings, block strings and comments", () => {
    const pieces = [
      '{',
      '}',
      '(',
      ')',
      '[',
      ']',
      ' a',
      ', ',
      '"s{(["',
      '"e\\"{\\\\"',
      '"""b{\n(\\"""[ """',
      '# c{[(\n',
      '# x]\r',
    ];
    // A deterministic generator, so a failure can be replayed.
    let seed = 12_345;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const lexerNesting = (text: string) => {
      const lexer = new Lexer(new Source(text));
      let depth = 0;
      let max = 0;
      for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
        if (token.kind === TokenKind.BRACE_L || token.kind === TokenKind.PAREN_L || token.kind === TokenKind.BRACKET_L)
          max = Math.max(max, ++depth);
        if (token.kind === TokenKind.BRACE_R || token.kind === TokenKind.PAREN_R || token.kind === TokenKind.BRACKET_R)
          depth = Math.max(0, depth - 1);
      }
      return max;
    };
    for (let round = 0; round < 500; round += 1) {
      const text = Array.from({ length: 1 + (next() % 60) }, () => pieces[next() % pieces.length]).join('');
      const expected = lexerNesting(text);
      expect({ text, exceedsAtExpected: documentNestingExceeds(text, expected) }).toEqual({
        text,
        exceedsAtExpected: false,
      });
      if (expected > 0)
        expect({ text, exceedsBelow: documentNestingExceeds(text, expected - 1) }).toEqual({
          text,
          exceedsBelow: true,
        });
    }
  });

  it('agrees with the parser: a document the scan allows parses', () => {
    const levels = 128;
    const text = `{ a(x: ${'['.repeat(levels - 2)}1${']'.repeat(levels - 2)}) }`;
    expect(documentNestingExceeds(text, levels)).toBe(false);
    expect(() => parse(text)).not.toThrow();
  });
});

describe('countTokens', () => {
  const reference = (text: string) => {
    const lexer = new Lexer(new Source(text));
    let n = 0;
    while (lexer.advance().kind !== TokenKind.EOF) n += 1;
    return n;
  };

  it.each([
    '{ __typename }',
    'query Q($a: Int = 3) { a(x: $a) @include(if: true) { ...F } } fragment F on T { b }',
    '# only a comment\n{ a } # and another',
    '{ a(s: """block { string"""), b(s: "x") }',
  ])("counts %s as graphql-js's lexer does, comments excluded", (text) => {
    expect(countTokens(text)).toBe(reference(text));
  });

  it('counts 5000 × __typename and its braces', () => {
    expect(countTokens(`{${' __typename'.repeat(5000)} }`)).toBe(5002);
  });

  it('counts up to the first lexical error, leaving the error to the parser', () => {
    expect(countTokens('{ a b c "unterminated')).toBe(4);
    expect(countTokens('{ a ~ b }')).toBe(2);
  });
});
