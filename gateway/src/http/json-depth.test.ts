import { MAX_INPUT_NESTING, jsonDepthExceeds } from './json-depth';

const nestedArrays = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`);
const nestedObjects = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

describe('jsonDepthExceeds', () => {
  it.each([
    [1, 0],
    ['text', 0],
    [null, 0],
    [{}, 1],
    [[], 1],
    [[1, 'a', null], 1],
    [{ a: [1] }, 2],
    [{ a: { b: { c: 1 } }, d: 1 }, 3],
    [[[], [[]], {}], 3],
  ])('measures %j as %i levels deep', (value, depth) => {
    expect(jsonDepthExceeds(value, depth)).toBe(false);
    if (depth > 0) expect(jsonDepthExceeds(value, depth - 1)).toBe(true);
  });

  it('finds the one deep branch among wide shallow ones', () => {
    const wide = {
      ...Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, [i, { i }]])),
      deep: nestedArrays(70),
    };
    expect(jsonDepthExceeds(wide, 71)).toBe(false);
    expect(jsonDepthExceeds(wide, 64)).toBe(true);
  });

  it('counts a "__proto__" key JSON.parse made an own property', () => {
    const value: unknown = JSON.parse(`{"__proto__":${JSON.stringify(nestedArrays(5))}}`);
    expect(jsonDepthExceeds(value, 5)).toBe(true);
    expect(jsonDepthExceeds(value, 6)).toBe(false);
  });

  it.each([
    ['lists', nestedArrays],
    ['objects', nestedObjects],
  ])('walks %s nested 100,000 levels deep without recursing, in linear time', (_label, build) => {
    const deep = build(100_000);
    // The value recursive code cannot walk: JSON.stringify overflows on it.
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(jsonDepthExceeds(deep, 64)).toBe(true);
    expect(jsonDepthExceeds(deep, 100_000)).toBe(false);
    expect(jsonDepthExceeds(deep, 99_999)).toBe(true);
  });

  it('keeps JSON.stringify safe up to its own ceiling', () => {
    const atCeiling = nestedObjects(MAX_INPUT_NESTING);
    expect(jsonDepthExceeds(atCeiling, MAX_INPUT_NESTING)).toBe(false);
    expect(() => JSON.stringify(atCeiling, (_k, v: unknown) => v)).not.toThrow();
  });
});
