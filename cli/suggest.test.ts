import { closest, editDistance } from './suggest';

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
});
