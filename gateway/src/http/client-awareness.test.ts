import { MAX_CLIENT_AWARENESS_LENGTH, acceptableClientValue, clientAwarenessOf } from './client-awareness';

const headers =
  (values: Record<string, string>) =>
  (name: string): string | undefined =>
    values[name];

describe('client awareness', () => {
  it('reads the name and version Apollo Client sends', () => {
    expect(
      clientAwarenessOf(
        headers({ 'apollographql-client-name': 'web-shop', 'apollographql-client-version': '1.2.3-rc.1+build.5' }),
      ),
    ).toEqual({ clientName: 'web-shop', clientVersion: '1.2.3-rc.1+build.5' });
    expect(clientAwarenessOf(headers({ 'apollographql-client-name': '@acme/storefront' }))).toEqual({
      clientName: '@acme/storefront',
    });
    expect(clientAwarenessOf(headers({}))).toEqual({});
  });

  it('drops values that could fake log structure, are too long, or look like a credential', () => {
    for (const value of [
      '',
      ' leading-space',
      'a"b',
      'a\nlevel=error',
      'name{1}',
      'x'.repeat(MAX_CLIENT_AWARENESS_LENGTH + 1),
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    ]) {
      expect(acceptableClientValue(value)).toBeUndefined();
    }
    expect(acceptableClientValue('x'.repeat(MAX_CLIENT_AWARENESS_LENGTH))).toBe(
      'x'.repeat(MAX_CLIENT_AWARENESS_LENGTH),
    );
  });
});
