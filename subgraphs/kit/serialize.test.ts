import { currentScope, runInScope } from './scope';
import { KeyedSerializer } from './serialize';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('tasks of one key run one after another; other keys are not held up; a failure does not block the queue', async () => {
  const serializer = new KeyedSerializer();
  const events: string[] = [];
  const task =
    (name: string, fail = false) =>
    async () => {
      events.push(`${name} start`);
      await tick();
      events.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    };
  const results = await Promise.allSettled([
    serializer.run('a', task('a1', true)),
    serializer.run('a', task('a2')),
    serializer.run('b', task('b1')),
  ]);
  expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
  expect(events.indexOf('a2 start')).toBeGreaterThan(events.indexOf('a1 end'));
  expect(events.indexOf('b1 start')).toBeLessThan(events.indexOf('a1 end'));
});

test('a queued task keeps the request scope of its caller', async () => {
  const serializer = new KeyedSerializer();
  const scope = (tenantId: string) => ({ tenantId, principal: 'p', roles: [], requestId: tenantId });
  const seen = await Promise.all(
    ['acme', 'globex', 'initech'].map((tenant) =>
      runInScope(scope(tenant), () =>
        serializer.run('shared', async () => {
          await tick();
          return currentScope()?.tenantId;
        }),
      ),
    ),
  );
  expect(seen).toEqual(['acme', 'globex', 'initech']);
});
