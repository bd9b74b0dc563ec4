/**
 * Express middleware bounding the JSON body before anything walks it (json-depth.ts says why): a field of the body
 * nested deeper than the bound is refused with 400 BAD_USER_INPUT and `maximum`.
 */
import type { RequestHandler } from 'express';
import { ErrorCode, gatewayError } from '../errors';
import { refuse } from './guards';
import { requestStateOf } from '../request';
import { jsonDepthExceeds } from './json-depth';

/** Fields the refusal may name; any other key is the client's own text, which is not echoed. */
const NAMED_FIELDS: ReadonlySet<string> = new Set(['variables', 'extensions', 'query', 'operationName', 'documentId']);

/** The refusal for a body over the bound: says which field (when it is one of GraphQL's) and the bound, never a value. */
export function tooDeeplyNested(field: string, maxDepth: number) {
  const subject = NAMED_FIELDS.has(field) ? `"${field}"` : 'The request body';
  return gatewayError(
    ErrorCode.BAD_USER_INPUT,
    `${subject} is nested too deeply: at most ${maxDepth} levels of objects and lists.`,
    {
      extensions: { maximum: maxDepth },
    },
  );
}

export interface JsonBodyBoundsOptions {
  /** Levels of objects and lists allowed in each field of the body (config.ts, `MAX_JSON_DEPTH`). */
  readonly maxDepth: number;
}

/**
 * Express middleware, right after `express.json`: refuses a body one of whose fields is nested deeper than
 * `maxDepth` with 400 BAD_USER_INPUT. Each field is measured on its own (the body object itself is not a level), so
 * the bound reads the same for `variables` as a client writes them. Persisted-operation requests are plain bodies
 * too (an id in `extensions`, values in `variables`), so they are bounded here before they are resolved.
 */
export function boundedJsonBody(options: JsonBodyBoundsOptions): RequestHandler {
  return (req, res, next) => {
    const body: unknown = req.body;
    // A batch or a scalar is refused by wellFormedGraphQLBody; measured here as a whole, it is bounded all the same.
    const fields: [string, unknown][] =
      body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.entries(body) : [['body', body]];
    for (const [field, value] of fields) {
      if (!jsonDepthExceeds(value, options.maxDepth)) continue;
      const state = requestStateOf(res);
      if (state) state.log.reason = 'json-too-deep';
      return refuse(res, tooDeeplyNested(field, options.maxDepth));
    }
    next();
  };
}
