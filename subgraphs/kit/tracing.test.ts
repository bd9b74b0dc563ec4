import { commandCollection } from './tracing';

describe("MongoDB command spans' collection", () => {
  test('the collection name only, never a filter', () => {
    const filter = { tenantId: 'acme', email: 'admin@acme.test' };
    expect(commandCollection({ requestId: 1, commandName: 'find', command: { find: 'users', filter } })).toBe('users');
    expect(
      commandCollection({ requestId: 2, commandName: 'getMore', command: { getMore: 5, collection: 'users' } }),
    ).toBe('users');
    expect(commandCollection({ requestId: 3, commandName: 'ping', command: { ping: 1 } })).toBeUndefined();
    expect(commandCollection({ requestId: 4, commandName: 'find' })).toBeUndefined();
  });
});
