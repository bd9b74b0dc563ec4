import { closest, editDistance, typoDistance } from './suggest';

describe('did you mean', () => {
  it('measures edits', () => {
    expect(editDistance('show', 'show')).toBe(0);
    expect(editDistance('shw', 'show')).toBe(1);
    expect(editDistance('max-cots', 'max-cost')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the closest known word within typo distance, and nothing for another word', () => {
    expect(closest('tenant shw', ['tenant show', 'tenant set', 'tenant list'])).toBe('tenant show');
    expect(closest('max-cots', ['max-cost', 'max-depth'])).toBe('max-cost');
    expect(closest('manifests', ['manifest', 'plan'])).toBe('manifest');
    expect(closest('delete', ['tenant show', 'plan list'])).toBeUndefined();
    expect(closest('x', ['y'])).toBe('y');
  });

  it('counts a swap of adjacent characters as one typo, so short words still get their suggestion', () => {
    expect(typoDistance('cots', 'cost')).toBe(1);
    expect(typoDistance('max-cots', 'max-cost')).toBe(1);
    expect(typoDistance('creat', 'create')).toBe(1);
    expect(typoDistance('show', 'show')).toBe(0);
    expect(typoDistance('', 'abc')).toBe(3);
    expect(typoDistance('ab', 'ba')).toBe(1);
    expect(typoDistance('abc', 'ca')).toBe(3);
    expect(closest('cots', ['cost', 'token'])).toBe('cost');
    expect(closest('palm', ['plan'])).toBeUndefined();
  });
});
