import { redactPrincipal, redactVariables } from './redact';

const hmacKey = Buffer.alloc(32, 7);

describe('redactVariables', () => {
  it('keeps ids, enum constants, integers and booleans; hashes every other string', () => {
    const out = redactVariables(
      {
        productId: 'p-1',
        input: { status: 'PAID', quantity: 2, gift: true, note: 'ring me at home', name: 'Ada Lovelace' },
      },
      { hmacKey },
    );
    expect(out).toEqual({
      productId: 'p-1',
      input: {
        status: 'PAID',
        quantity: 2,
        gift: true,
        note: expect.stringMatching(/^hmac:[0-9a-f]{32}$/),
        name: expect.stringMatching(/^hmac:[0-9a-f]{32}$/),
      },
    });
  });

  it('never keeps an e-mail address or a credential, whatever the field is called', () => {
    const text = JSON.stringify(
      redactVariables(
        {
          userId: 'ada@example.com',
          email: 'ada@example.com',
          ids: ['tg_live_abcdefghijklmnopqrstuvwxyz0123456789', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
        },
        { hmacKey },
      ),
    );
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain('eyJhbGci');
    expect(text).not.toContain('abcdefghijklmnop');
  });

  it('hashes one value the same way twice, and differently under another key', () => {
    const a = redactVariables({ note: 'x' }, { hmacKey }).note;
    expect(redactVariables({ note: 'x' }, { hmacKey }).note).toBe(a);
    expect(redactVariables({ note: 'x' }, { hmacKey: Buffer.alloc(32, 8) }).note).not.toBe(a);
  });

  it('turns fractions into strings and bounds depth and width', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50; i++) deep = { next: deep };
    const out = redactVariables({ price: 9.99, deep, list: Array.from({ length: 60 }, (_, i) => i) }, { hmacKey });
    expect(out.price).toBe('9.99');
    expect(JSON.stringify(out.deep)).toContain('[deep]');
    expect((out.list as unknown[]).length).toBe(51);
  });
});

describe('redactPrincipal', () => {
  it('keeps an opaque subject and hashes an e-mail address', () => {
    expect(redactPrincipal('user-42', hmacKey)).toBe('user-42');
    expect(redactPrincipal('ada@example.com', hmacKey)).toMatch(/^hmac:/);
  });
});
