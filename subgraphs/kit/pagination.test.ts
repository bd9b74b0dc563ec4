import { Types } from 'mongoose';
import { decodeCursor, encodeCursor, parsePage } from './pagination';

test('a cursor round-trips to the same ObjectId and is 16 url-safe characters', () => {
  const id = new Types.ObjectId();
  const cursor = encodeCursor(id);
  expect(cursor).toMatch(/^[A-Za-z0-9_-]{16}$/);
  expect(decodeCursor(cursor).equals(id)).toBe(true);
});

test.each(['', 'short', 'AAAAAAAAAAAAAAAA=', 'AAAAAAAAAAAAAAA+', '{"$gt":""}', 'a'.repeat(17)])(
  '%j is not a cursor',
  (cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(
      expect.objectContaining({ message: 'Invalid cursor', extensions: { code: 'BAD_USER_INPUT' } }),
    );
  },
);

test.each([0, -1, 101, 1.5, Number.NaN])('first = %p is refused', (first) => {
  expect(() => parsePage({ first })).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }));
});

test('first within 1–100 and no cursor', () => {
  expect(parsePage({ first: 100, after: null })).toEqual({ first: 100, after: null });
});
