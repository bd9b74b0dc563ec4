/**
 * Rules that refuse what a client sent (a mutation's input), not who sent it, in time linear in the input's size.
 *
 * Why not graphql-shield's `inputRule`: it validates with yup 0.32, whose `string().email()` is a regular expression
 * that backtracks exponentially (`"a"×40 + "@" + "a."×30 + "!"` pegs a core for minutes), and whose `.max()` runs
 * only after that pattern; its other string tests (`url`, `uuid`, `matches`) are regular expressions too, and any
 * of them stalls every tenant of the process while it runs. A plain shield rule calling the checks below keeps
 * yup off the request path altogether: each check looks at the length before the content and scans the content
 * once, without regular expressions. The eslint config forbids importing `inputRule` outside tests.
 *
 * A failing check answers with an `InvalidInputError`, which the gate reports as `invalid-input` (400
 * BAD_USER_INPUT), never as a lack of rights. Messages keep yup's wording ("input.rating must be less than or equal
 * to 5"), which clients already see.
 */
import { rule } from 'graphql-shield';
import { isEmailAddress, MAX_EMAIL_LENGTH } from '../../../common/email';
import { InvalidInputError } from './invalid-input';
import type { ShieldRule } from './shield';

export { InvalidInputError } from './invalid-input';

/** Returns what is wrong with the value, or undefined when it passes. */
export type InputCheck = (value: unknown, path: string) => string | undefined;

export interface TextOptions {
  readonly min: number;
  readonly max: number;
  /** Check the length of the value without its surrounding white space (what the subgraph stores). */
  readonly trim?: boolean;
}

export function text({ min, max, trim = false }: TextOptions): InputCheck {
  return (value, path) => {
    if (typeof value !== 'string') return `${path} is a required field`;
    // `trim` is one native pass; the lengths below are compared, never scanned.
    const length = trim ? value.trim().length : value.length;
    if (length < min) return `${path} must be at least ${min} characters`;
    if (length > max) return `${path} must be at most ${max} characters`;
    return undefined;
  };
}

export function integer({ min, max }: { readonly min: number; readonly max: number }): InputCheck {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) return `${path} must be an integer`;
    if (value < min) return `${path} must be greater than or equal to ${min}`;
    if (value > max) return `${path} must be less than or equal to ${max}`;
    return undefined;
  };
}

/** An e-mail address by common/email.ts's rule, surrounding white space ignored (the subgraph trims it too). */
export function email(): InputCheck {
  return (value, path) => {
    if (typeof value !== 'string') return `${path} is a required field`;
    const address = value.trim();
    if (address.length > MAX_EMAIL_LENGTH) return `${path} must be at most ${MAX_EMAIL_LENGTH} characters`;
    return isEmailAddress(address) ? undefined : `${path} must be a valid email`;
  };
}

/**
 * A rule checking the fields of one input-object argument, in order, stopping at the first problem. Not cached by
 * shield: the gate already takes one decision per rule and argument values, and a check is cheaper than a cache key.
 */
export function validInput(name: string, argument: string, fields: Readonly<Record<string, InputCheck>>): ShieldRule {
  return rule(name, { cache: 'no_cache' })((_parent, args: Record<string, unknown>) => {
    const input = args[argument];
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return new InvalidInputError(`${argument} is a required field`);
    }
    for (const [field, check] of Object.entries(fields)) {
      const problem = check((input as Record<string, unknown>)[field], `${argument}.${field}`);
      if (problem !== undefined) return new InvalidInputError(problem);
    }
    return true;
  });
}
