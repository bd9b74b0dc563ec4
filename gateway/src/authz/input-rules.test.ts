import { email, integer, InvalidInputError, text, validInput } from './input-rules';

describe('input checks', () => {
  it('text: a string whose (trimmed) length is within bounds', () => {
    const body = text({ min: 1, max: 5, trim: true });
    expect(body('ok', 'input.body')).toBeUndefined();
    expect(body('  ok  ', 'input.body')).toBeUndefined();
    expect(body('   ', 'input.body')).toBe('input.body must be at least 1 characters');
    expect(body('123456', 'input.body')).toBe('input.body must be at most 5 characters');
    expect(body(undefined, 'input.body')).toBe('input.body is a required field');
    expect(body(7, 'input.body')).toBe('input.body is a required field');
  });

  it('integer: an integer within bounds', () => {
    const rating = integer({ min: 1, max: 5 });
    expect(rating(3, 'input.rating')).toBeUndefined();
    expect(rating(0, 'input.rating')).toBe('input.rating must be greater than or equal to 1');
    expect(rating(9, 'input.rating')).toBe('input.rating must be less than or equal to 5');
    expect(rating(2.5, 'input.rating')).toBe('input.rating must be an integer');
    expect(rating('3', 'input.rating')).toBe('input.rating must be an integer');
  });

  it('email: the shared linear rule, the length looked at first', () => {
    const check = email();
    expect(check(' bo@acme.test ', 'input.email')).toBeUndefined();
    expect(check('not-an-address', 'input.email')).toBe('input.email must be a valid email');
    expect(check(`${'a'.repeat(40)}@${'a.'.repeat(30)}!`, 'input.email')).toBe('input.email must be a valid email');
    expect(check(`${'a'.repeat(40)}@${'a.'.repeat(50_000)}!`, 'input.email')).toBe(
      'input.email must be at most 254 characters',
    );
  });
});

describe('validInput', () => {
  const rule = validInput('validThing', 'input', {
    name: text({ min: 1, max: 10 }),
    rating: integer({ min: 1, max: 5 }),
  });
  const resolve = (args: Record<string, unknown>) =>
    rule.resolve(undefined as unknown as object, args, { _shield: { cache: {} } } as never, {} as never, {} as never);

  it('allows valid input and answers the first problem as an InvalidInputError', async () => {
    expect(await resolve({ input: { name: 'Bo', rating: 5 } })).toBe(true);
    const refused = await resolve({ input: { name: '', rating: 9 } });
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect((refused as Error).message).toBe('input.name must be at least 1 characters');
  });

  it('refuses a missing or non-object argument', async () => {
    for (const input of [undefined, null, 'x', []]) {
      expect(await resolve({ input })).toEqual(new InvalidInputError('input is a required field'));
    }
  });
});
