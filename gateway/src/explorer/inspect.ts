/**
 * The explorer's developer tools read an operation without running it: its estimated cost for the caller's tenant
 * and the gateway's query plan. Both go through this one preparation, which holds a document to the same bounds
 * /graphql does — nesting and the plan's token limit before parsing, the plan's shape limits and slicing bounds
 * after — and validates it against the schema the caller (the persona, when previewing) may see, so neither tool
 * tells a developer anything about fields their introspection would not show. Nothing here reaches a subgraph,
 * reserves from the budget or charges the tenant.
 */
import {
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import { queryHashOf } from '../document/key';
import { ErrorCode, gatewayError } from '../errors';
import { MAX_VALIDATION_ERRORS } from '../http/abandoned-work';
import { countTokens, documentNestingExceeds, documentTooDeeplyNested } from '../http/document-bounds';
import { LimitCode, limitRefusal } from '../pipeline/limits';
import type { Stage } from '../pipeline/index';
import type { GatewayContext, OperationRequest } from '../request';
import { tenantOf } from '../request';
import { introspectionIn } from './introspection';

/** The GraphQL-over-HTTP body the tools accept (the body's field types are checked before, guards.ts). */
export interface InspectBody {
  readonly query?: string;
  readonly operationName?: string;
  readonly variables?: Record<string, unknown>;
}

export interface InspectOptions {
  /** The caller's visible schema (visible-schema.ts), for the persona being previewed. */
  readonly schema: GraphQLSchema;
  /** The limits stage /graphql runs (pipeline/limits.ts), with the same slicing bounds. */
  readonly limits: Stage;
  /** The gateway-wide nesting bound of the query text (`inputBounds.maxDocumentNesting`). */
  readonly maxNesting: number;
}

/** The request as the operation stages see it, resolved from the body, or a refusal (thrown `GraphQLError`). */
export async function inspectOperation(
  context: GatewayContext,
  body: InspectBody,
  options: InspectOptions,
): Promise<OperationRequest> {
  const text = body.query;
  if (typeof text !== 'string' || text.trim() === '') {
    throw gatewayError(ErrorCode.BAD_REQUEST, 'Send the operation to inspect as "query".');
  }
  if (documentNestingExceeds(text, options.maxNesting)) throw documentTooDeeplyNested(options.maxNesting);
  const { maxTokens } = tenantOf(context).plan.limits;
  const tokens = countTokens(text);
  if (tokens > maxTokens) {
    throw limitRefusal(LimitCode.MAX_TOKENS_LIMIT, 'The document has too many tokens.', maxTokens, tokens);
  }
  let document;
  try {
    document = parse(text, { maxTokens });
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    throw gatewayError(ErrorCode.GRAPHQL_PARSE_FAILED, error.message);
  }
  const errors = validate(options.schema, document, specifiedRules, { maxErrors: MAX_VALIDATION_ERRORS });
  if (errors.length > 0) throw gatewayError(ErrorCode.GRAPHQL_VALIDATION_FAILED, errors[0]!.message);
  const operation = getOperationAST(document, body.operationName);
  if (!operation) {
    throw gatewayError(
      ErrorCode.BAD_REQUEST,
      'Name the operation to inspect ("operationName"): none or several match.',
    );
  }
  if (operation.operation === 'subscription') {
    throw gatewayError(ErrorCode.BAD_REQUEST, 'Subscriptions are not supported by this gateway.');
  }
  // graphql-js 16 validates nothing of an operation whose root type the schema lacks (a persona without mutations).
  if (!options.schema.getRootType(operation.operation)) {
    throw gatewayError(
      ErrorCode.GRAPHQL_VALIDATION_FAILED,
      `The schema you may see has no ${operation.operation} type: nothing of it is callable with these roles.`,
    );
  }
  if (introspectionIn(document, operation) !== 'none') {
    throw gatewayError(
      ErrorCode.BAD_REQUEST,
      'Introspection is answered by the gateway itself: it has no cost and no query plan.',
    );
  }
  const coerced = getVariableValues(options.schema, operation.variableDefinitions ?? [], body.variables ?? {}, {
    maxErrors: 1,
  });
  if (coerced.errors) throw gatewayError(ErrorCode.BAD_USER_INPUT, coerced.errors[0]!.message);
  const request: OperationRequest = {
    ...context,
    document,
    operation,
    operationName: operation.name?.value ?? null,
    variables: coerced.coerced,
    queryHash: queryHashOf(text),
  };
  await options.limits.run(request);
  return request;
}
