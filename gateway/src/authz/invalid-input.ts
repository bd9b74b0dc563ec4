/**
 * The error an input rule answers with (input-rules.ts), in a module of its own: the shield adapter (shield.ts)
 * recognises it to report `invalid-input`, and the rules need the adapter's types, so neither may import the other
 * for it.
 */
/** What the client sent was wrong; the message says what, and names no internals. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}
