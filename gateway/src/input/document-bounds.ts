/**
 * Bounds on the query text, checked before Apollo Server hands it to graphql-js, whose parser recurses once per
 * level of `{`, `(` and `[` (it throws `RangeError: Maximum call stack size exceeded` a few thousand levels down)
 * and whose validation can give up on a large document ("Validation aborted.") before any plan limit is looked at:
 *
 * - nesting: a linear scan counts the levels of `{`, `(` and `[` outside strings and comments; a document over the
 *   gateway-wide bound is refused with 400 GRAPHQL_PARSE_FAILED and `maximum` — it is refused instead of parsed, for
 *   every plan, as the parser's own token cap is (pipeline/limits.ts, `parseOptionsForPlans`);
 * - tokens: the caller's plan's token limit, counted with graphql-js's own lexer, so a document over it gets the
 *   documented 400 GRAPHQL_VALIDATION_FAILED / MAX_TOKENS_LIMIT with `maximum` and `actual`, whatever validation
 *   would have said about it.
 *
 * It runs as Express middleware after persisted operations are resolved, so it sees the text Apollo Server will
 * parse whichever way it came (the body, APQ, a manifest).
 */
import type { RequestHandler } from 'express';
import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import { ErrorCode, gatewayError } from '../errors';
import { refuse } from '../http';
import { requestStateOf, type Caller } from '../pipeline';
import { LimitCode, limitRefusal } from '../pipeline/limits';
import type { PlanLimits } from '../tenants/plan';

const OPEN_BRACE = 0x7b;
const OPEN_PAREN = 0x28;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_PAREN = 0x29;
const CLOSE_BRACKET = 0x5d;
const HASH = 0x23;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Whether the GraphQL text nests `{`, `(` and `[` more than `maxNesting` levels deep, outside strings, block
 * strings and comments (which the lexer reads as one token each, whatever brackets they hold). One pass, no
 * allocation, stops at the first level past the bound. Closing brackets beyond what was opened are ignored: the
 * parser refuses such a text without recursing.
 */
export function documentNestingExceeds(text: string, maxNesting: number): boolean {
  const length = text.length;
  let depth = 0;
  for (let i = 0; i < length; i += 1) {
    switch (text.charCodeAt(i)) {
      case OPEN_BRACE:
      case OPEN_PAREN:
      case OPEN_BRACKET:
        depth += 1;
        if (depth > maxNesting) return true;
        break;
      case CLOSE_BRACE:
      case CLOSE_PAREN:
      case CLOSE_BRACKET:
        if (depth > 0) depth -= 1;
        break;
      case HASH:
        i = endOfLine(text, i);
        break;
      case QUOTE:
        i = text.startsWith('"""', i) ? endOfBlockString(text, i) : endOfString(text, i);
        break;
      default:
    }
  }
  return false;
}

/** The index of the last character of the comment starting at `start` (a comment ends at a line terminator). */
function endOfLine(text: string, start: number): number {
  let i = start;
  while (i + 1 < text.length) {
    const next = text.charCodeAt(i + 1);
    if (next === LINE_FEED || next === CARRIAGE_RETURN) break;
    i += 1;
  }
  return i;
}

/**
 * The index of the closing quote of the string opening at `start`. A backslash escapes the next character; a line
 * terminator ends an unterminated string, as the lexer does (and then refuses the document).
 */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === BACKSLASH) {
      i += 2;
      continue;
    }
    if (code === QUOTE || code === LINE_FEED || code === CARRIAGE_RETURN) return i;
    i += 1;
  }
  return i;
}

/** The index of the last quote of the block string opening at `start`; only `\"""` is an escape in one. */
function endOfBlockString(text: string, start: number): number {
  let i = start + 3;
  while (i < text.length) {
    if (text.charCodeAt(i) === BACKSLASH && text.startsWith('"""', i + 1)) {
      i += 4;
      continue;
    }
    if (text.startsWith('"""', i)) return i + 2;
    i += 1;
  }
  return i;
}

/**
 * Lexical tokens of the text as graphql-js's parser counts them (comments excluded), up to the end or the first
 * lexical error, whichever comes first: a text that is over a limit before its first error is over it, and one that
 * is not is left to the parser to refuse with its own syntax error. Linear in the text (graphql-js's lexer does not
 * backtrack); the text is bounded by the plan's body size.
 */
export function countTokens(text: string): number {
  const lexer = new Lexer(new Source(text));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count += 1;
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
  }
  return count;
}

export function documentTooDeeplyNested(maxNesting: number): GraphQLError {
  return gatewayError(
    ErrorCode.GRAPHQL_PARSE_FAILED,
    `The document is nested too deeply: at most ${maxNesting} levels of braces, parentheses and brackets.`,
    { extensions: { maximum: maxNesting } },
  );
}

export interface DocumentBoundsOptions {
  /** Levels of `{`, `(` and `[` allowed in any document (config.ts, `MAX_DOCUMENT_NESTING`). */
  readonly maxNesting: number;
  /** The caller's plan, for its token limit; may throw a refusal (a GraphQLError) when the plan is unknown. */
  readonly limitsFor: (caller: Caller) => PlanLimits;
}

/**
 * Refuses the query text over the nesting bound or the caller's token limit before Apollo Server parses it.
 * Requests without a text (Apollo refuses them) or without a caller (gatewayContext refuses them) pass through.
 */
export function boundedDocument(options: DocumentBoundsOptions): RequestHandler {
  return (req, res, next) => {
    const query: unknown = (req.body as { query?: unknown } | undefined)?.query;
    const state = requestStateOf(res);
    if (typeof query !== 'string' || !state) return next();
    let refusal: { error: GraphQLError; reason: string } | undefined;
    try {
      refusal = documentRefusal(query, state.caller, options);
    } catch (error) {
      // The caller's plan could not be read (limitsFor's refusal, SERVICE_UNAVAILABLE): the stages would say the same.
      if (!(error instanceof GraphQLError)) throw error;
      refusal = { error, reason: 'plan-unavailable' };
    }
    if (!refusal) return next();
    state.log.reason = refusal.reason;
    refuse(res, refusal.error);
  };
}

function documentRefusal(
  query: string,
  caller: Caller | undefined,
  options: DocumentBoundsOptions,
): { error: GraphQLError; reason: string } | undefined {
  if (documentNestingExceeds(query, options.maxNesting)) {
    return { error: documentTooDeeplyNested(options.maxNesting), reason: 'document-too-deep' };
  }
  if (!caller) return undefined;
  const { maxTokens } = options.limitsFor(caller);
  // Every token is at least one character long: a text no longer than the limit cannot be over it.
  if (query.length <= maxTokens) return undefined;
  const tokens = countTokens(query);
  if (tokens <= maxTokens) return undefined;
  return {
    error: limitRefusal(LimitCode.MAX_TOKENS_LIMIT, 'The document has too many tokens.', maxTokens, tokens),
    reason: 'too-many-tokens',
  };
}
