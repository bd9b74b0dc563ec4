/**
 * graphql-shield's `chain` and `race` on every Node this project supports: on Node ≥ 23 they work only through
 * common/shield-node-compat.ts (CI runs this file on Node 20 and on Node 24).
 */
import util from 'node:util';
import { and, chain, race, rule } from 'graphql-shield';
import './shield-node-compat';

const yes = rule('yes', { cache: 'no_cache' })(() => true);
const no = rule('no', { cache: 'no_cache' })(() => false);
const options = { allowExternalErrors: false, debug: true, fallbackRule: yes, hashFunction: () => '' } as never;
type ShieldRule = Parameters<typeof and>[number];
const resolve = (r: ShieldRule) => r.resolve({}, {}, { _shield: { cache: {} } } as never, {} as never, options);

test('util.isUndefined answers as it did before Node removed it', () => {
  const isUndefined = (util as unknown as { isUndefined: (v: unknown) => boolean }).isUndefined;
  expect([undefined, null, 0, ''].map((v) => isUndefined(v))).toEqual([true, false, false, false]);
});

test('race allows when any rule allows, and chain only when every rule does', async () => {
  await expect(resolve(race(no, yes))).resolves.toBe(true);
  await expect(resolve(race(no, no))).resolves.toBe(false);
  await expect(resolve(chain(yes, yes))).resolves.toBe(true);
  await expect(resolve(chain(yes, no))).resolves.toBe(false);
});
