import { CanonicalEncodingError, canonicalJson } from './canonical';

describe('canonicalJson', () => {
  it('sorts keys at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } })).toBe('{"a":{"c":"x","d":[true,null]},"b":1}');
  });

  it('gives one encoding whatever order the keys were built in', () => {
    const one = { tenant: 'acme', seq: 2, actor: { principal: 'u1', credential: 'jwt' } };
    const two = { actor: { credential: 'jwt', principal: 'u1' }, seq: 2, tenant: 'acme' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it('leaves out undefined values, keeps null, spells -0 as 0', () => {
    expect(canonicalJson({ a: undefined, b: null, c: -0 })).toBe('{"b":null,"c":0}');
  });

  it('escapes strings as JSON does', () => {
    expect(canonicalJson({ 'k"': 'line\nbreak \u2028' })).toBe(JSON.stringify({ 'k"': 'line\nbreak \u2028' }));
  });

  it.each([[1.5], [Number.NaN], [Infinity], [2 ** 60]])('refuses the number %p (no float ambiguity)', (n) => {
    expect(() => canonicalJson({ n })).toThrow(CanonicalEncodingError);
  });

  it('refuses dates, class instances, functions and bigints', () => {
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(CanonicalEncodingError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(CanonicalEncodingError);
    expect(() => canonicalJson({ b: 1n })).toThrow(CanonicalEncodingError);
  });

  it('refuses values nested past its bound instead of overflowing the stack', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(CanonicalEncodingError);
  });
});
