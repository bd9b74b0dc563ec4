import { isEmailAddress, MAX_EMAIL_LENGTH } from './email';

describe('isEmailAddress', () => {
  it.each([
    'bo@acme.test',
    'Bo.Smith+tag@mail.acme.test',
    "o'neil@x-y.example.com",
    'a@b.co',
    `${'a'.repeat(64)}@acme.test`,
  ])('accepts %s', (address) => expect(isEmailAddress(address)).toBe(true));

  it.each([
    ['no @', 'not-an-address'],
    ['two @', 'a@b@acme.test'],
    ['an empty local part', '@acme.test'],
    ['a local part over 64', `${'a'.repeat(65)}@acme.test`],
    ['a single-label domain', 'bo@localhost'],
    ['an empty label', 'bo@acme..test'],
    ['a trailing dot', 'bo@acme.test.'],
    ['a label starting with a hyphen', 'bo@-acme.test'],
    ['a label ending with a hyphen', 'bo@acme-.test'],
    ['a label over 63', `bo@${'a'.repeat(64)}.test`],
    ['a space', 'b o@acme.test'],
    ['a quoted local part', '"bo"@acme.test'],
    ['an IP literal', 'bo@[127.0.0.1]'],
    ['a non-ASCII letter', 'bö@acme.test'],
    ['over 254 characters', `bo@${'a.'.repeat(126)}test`],
    ['the exponential shape of yup', `${'a'.repeat(40)}@${'a.'.repeat(30)}!`],
  ])('refuses %s', (_label, address) => expect(isEmailAddress(address)).toBe(false));

  it('agrees with the length limit at the boundary', () => {
    const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(61)}`;
    const exact = `${'x'.repeat(MAX_EMAIL_LENGTH - domain.length - 1)}@${domain}`;
    expect(exact).toHaveLength(MAX_EMAIL_LENGTH);
    expect(isEmailAddress(exact)).toBe(true);
    expect(isEmailAddress(`x${exact}`)).toBe(false);
  });

  it('takes no time on backtracking-shaped or huge inputs', () => {
    const hostile = [
      `${'a'.repeat(40)}@${'a.'.repeat(30)}!`,
      `${'a'.repeat(40)}@${'a.'.repeat(50_000)}!`,
      `${'a'.repeat(50_000)}@`,
      '@'.repeat(100_000),
      `a@${'a-'.repeat(50_000)}`,
      ' '.repeat(100_000),
    ];
    const started = process.cpuUsage();
    for (let i = 0; i < 100; i++) for (const input of hostile) isEmailAddress(input);
    const { user, system } = process.cpuUsage(started);
    // 600 checks; the length bound comes first, so each is a few comparisons. Generous: 50 ms in all.
    expect((user + system) / 1000).toBeLessThan(50);
  });
});
