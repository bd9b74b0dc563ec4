/**
 * The middleware of `/graphql`, in the order a request meets it: the HTTP layer's guards, then Apollo Server. One list
 * in one place, because the order is the design — CORS and the URL check before authentication, authentication
 * before the body is read, the body's bounds before anything walks it, persisted resolution before the document's
 * bounds (they apply to the text Apollo Server will parse, however it was sent).
 */
import type { ApolloServer } from '@apollo/server';
import express, { type RequestHandler } from 'express';
import { graphqlHandler } from '../../../common/apollo-express';
import type { Logger } from '../../../common/logger';
import type { InputBounds } from '../config';
import { requestStateOf, type GatewayContext, type RequestContext } from '../request';
import { boundedJsonBody } from './body-bounds';
import { corsHeaders } from './cors';
import type { CorsHeaderLists } from './cors-headers';
import { boundedDocument } from './document-bounds';
import { forPosts, onlyGetOrPost, readGetRequest, safeGet } from './get-requests';
import {
  bodyWithinPlan,
  gatewayContext,
  noStore,
  noteApolloRefusal,
  onlyJson,
  recordBodyBytes,
  refuseCredentialsInUrl,
  wellFormedGraphQLBody,
} from './guards';
import { resolvePersistedOperations } from './persisted';
import { traceRequests, traceStep, type RequestTracingOptions } from '../tracing/spans';

export interface GraphqlRouteOptions {
  server: ApolloServer<GatewayContext>;
  /** `authenticateRequests(…)` (guards.ts): the caller and one snapshot of its tenant onto the request context. */
  authenticate: RequestHandler;
  /** A test seam run right after authentication (server.ts documents it); absent, nothing is added to the route. */
  afterAuthenticationForTests?: ((request: RequestContext) => Promise<void>) | undefined;
  directory: Parameters<typeof corsHeaders>[0];
  corsLists: CorsHeaderLists;
  maxBodyBytes: number;
  inputBounds: InputBounds;
  manifests: Parameters<typeof resolvePersistedOperations>[0]['manifests'];
  apq: Parameters<typeof resolvePersistedOperations>[0]['apq'];
  logger: Logger;
  /**
   * Tracing on (common/tracing/setup.ts): the request span first, and the authentication and persisted-operation
   * steps in spans of their own (tracing/spans.ts). Absent, the route is exactly the list below.
   */
  tracing?: RequestTracingOptions | undefined;
}

export function graphqlRoute(options: GraphqlRouteOptions): RequestHandler[] {
  const { inputBounds, tracing } = options;
  const traced = (name: string, step: RequestHandler) => (tracing ? traceStep(tracing.tracer, name, step) : step);
  return [
    ...(tracing ? [traceRequests(tracing)] : []),
    noStore,
    corsHeaders(options.directory, options.corsLists),
    refuseCredentialsInUrl,
    // GET for persisted queries only, with CSRF prevention (get-requests.ts); its query string becomes the body.
    onlyGetOrPost,
    safeGet,
    traced('tollgate.authenticate', options.authenticate),
    ...pauseForTests(options.afterAuthenticationForTests),
    forPosts(onlyJson),
    forPosts(express.json({ limit: options.maxBodyBytes, type: 'application/json', verify: recordBodyBytes })),
    readGetRequest,
    bodyWithinPlan(),
    // Before anything walks the body's JSON (persisted operations, the gate's variable key, coercion).
    boundedJsonBody({ maxDepth: inputBounds.maxJsonDepth }),
    wellFormedGraphQLBody,
    traced(
      'tollgate.persisted',
      resolvePersistedOperations({
        manifests: options.manifests,
        apq: options.apq,
        logger: options.logger.child({ component: 'persisted' }),
      }),
    ),
    // On the text Apollo Server will parse, however it was sent: nesting bound, then the plan's token limit.
    boundedDocument({ maxNesting: inputBounds.maxDocumentNesting }),
    graphqlHandler(options.server, gatewayContext, { onAnswer: noteApolloRefusal, getFromBody: true }),
  ];
}

function pauseForTests(hook: GraphqlRouteOptions['afterAuthenticationForTests']): RequestHandler[] {
  if (!hook) return [];
  return [
    (_req, res, next) => {
      const state = requestStateOf(res);
      if (!state) return next();
      hook(state).then(() => next(), next);
    },
  ];
}
