/**
 * graphql-shield 7.6.5 (its last release) calls `util.isUndefined` in `chain` and `race` (cjs/rules.js). Node 23
 * removed the `util.is*` helpers (DEP0044–DEP0058 reached end of life), so on Node 24 every `chain` or `race` rule
 * throws a TypeError, and the gateway's gate, failing closed, denies everything those rules guard. This restores the
 * one function shield calls, with its documented meaning, when Node lacks it. Importing this module is enough:
 * shield looks the function up on the util module at each call. Import it from every module that evaluates rules.
 */
import util from 'node:util';

const legacy = util as unknown as { isUndefined?: (value: unknown) => boolean };
if (typeof legacy.isUndefined !== 'function') legacy.isUndefined = (value: unknown) => value === undefined;
