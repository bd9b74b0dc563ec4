/** For stage tests that build a ResolvedOperation by hand: a filter hook that fails the test if a stage uses it. */
export function unexpectedFilter(): never {
  throw new Error('this test expected no field filter');
}
