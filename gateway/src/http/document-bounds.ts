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
import { refuse } from './guards';
import { requestStateOf, tenantOf, type Caller, type RequestContext } from '../request';
import { LimitCode, limitRefusal } from '../pipeline/limits';
import type { PlanLimits } from '../tenants/plan';

const OPEN_BRACE = 0x7b;
const OPEN_PAREN = 0x28;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_PAREN = 0x29;
const CLOSE_BRACKET = 0x5d;
const HASH = 0x23;

/*
 * The scan jumps between the characters that matter with these (a character class or fixed alternatives each:
 * linear, nothing to backtrack), which V8 runs several times faster than a loop over every character. They are
 * global for `lastIndex`; the scan is synchronous, so sharing them is safe.
 */
/** Brackets, and what starts a comment or a string. */
const SIGNIFICANT = /[{}()[\]#"]/g;
const LINE_TERMINATOR = /[\n\r]/g;
/** What ends or escapes inside a string: a backslash escapes the next character; a line terminator ends it. */
const IN_STRING = /["\\\n\r]/g;
/** In a block string only `\"""` is an escape. */
const IN_BLOCK_STRING = /\\"""|"""/g;

/**
 * Whether the GraphQL text nests `{`, `(` and `[` more than `maxNesting` levels deep, outside strings, block
 * strings and comments (which the lexer reads as one token each, whatever brackets they hold). One pass, stops at
 * the first level past the bound. Closing brackets beyond what was opened are ignored: the parser refuses such a
 * text without recursing.
 */
export function documentNestingExceeds(text: string, maxNesting: number): boolean {
  let depth = 0;
  SIGNIFICANT.lastIndex = 0;
  for (let match = SIGNIFICANT.exec(text); match !== null; match = SIGNIFICANT.exec(text)) {
    const at = match.index;
    switch (text.charCodeAt(at)) {
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
        SIGNIFICANT.lastIndex = after(LINE_TERMINATOR, text, at + 1);
        break;
      default:
        // A quote: a block string, or a string.
        SIGNIFICANT.lastIndex = text.startsWith('"""', at) ? endOfBlockString(text, at + 3) : endOfString(text, at + 1);
    }
  }
  return false;
}

/** The index just past the next match of `pattern` from `from` (the comment's end), or the text's end. */
function after(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  const match = pattern.exec(text);
  return match ? match.index + match[0].length : text.length;
}

/** The index just past the string whose content starts at `from`; an unterminated one ends at its line's end. */
function endOfString(text: string, from: number): number {
  IN_STRING.lastIndex = from;
  for (let match = IN_STRING.exec(text); match !== null; match = IN_STRING.exec(text)) {
    if (match[0] !== '\\') return match.index + 1;
    IN_STRING.lastIndex = match.index + 2;
  }
  return text.length;
}

/** The index just past the block string whose content starts at `from`. */
function endOfBlockString(text: string, from: number): number {
  IN_BLOCK_STRING.lastIndex = from;
  for (let match = IN_BLOCK_STRING.exec(text); match !== null; match = IN_BLOCK_STRING.exec(text)) {
    if (match[0] === '"""') return match.index + 3;
  }
  return text.length;
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
  /**
   * The caller's plan, for its token limit; by default the tenant snapshot's. May throw a refusal (a GraphQLError)
   * when the plan is unknown.
   */
  readonly limitsFor?: (caller: Caller) => PlanLimits;
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
      refusal = documentRefusal(query, state, options);
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
  request: RequestContext,
  options: DocumentBoundsOptions,
): { error: GraphQLError; reason: string } | undefined {
  if (documentNestingExceeds(query, options.maxNesting)) {
    return { error: documentTooDeeplyNested(options.maxNesting), reason: 'document-too-deep' };
  }
  const { caller } = request;
  if (!caller) return undefined;
  const { maxTokens } = options.limitsFor ? options.limitsFor(caller) : tenantOf(request).plan.limits;
  // Every token is at least one character long: a text no longer than the limit cannot be over it.
  if (query.length <= maxTokens) return undefined;
  const tokens = countTokens(query);
  if (tokens <= maxTokens) return undefined;
  return {
    error: limitRefusal(LimitCode.MAX_TOKENS_LIMIT, 'The document has too many tokens.', maxTokens, tokens),
    reason: 'too-many-tokens',
  };
}
