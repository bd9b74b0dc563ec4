/**
 * Apollo Server behind Express, for the gateway and the subgraphs, in place of @as-integrations/express5: the same
 * request handed to Apollo, and the answer written with `res.end`. The integration's `res.send` worked out the
 * length, type and freshness of every body and its `url.parse` ran on every URL — per-request work nothing here
 * needs: the body is a string Apollo has typed, never cached, never answered conditionally.
 */
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';

export interface GraphqlHandlerOptions {
  /**
   * Called with every complete answer before it is written: Apollo Server refuses some requests (406 for an
   * `Accept` it cannot serve, 400 for a malformed one) before any plugin hook, so this is where their codes can be
   * noted for the request's log line.
   */
  readonly onAnswer?: (res: Response, status: number, body: string) => void;
  /**
   * For GET requests whose query string a middleware already turned into `req.body` (the gateway's persisted
   * queries, which replace an id by the operation's text): Apollo Server reads a GET's parameters from the search
   * string only, so one is rebuilt from the body. Apollo's own GET rules (queries only) then apply to the resolved
   * operation.
   */
  readonly getFromBody?: boolean;
}

/** The search string Apollo Server reads a GET from, built from the request's (resolved) body. */
function searchFromBody(body: unknown): string {
  const params = new URLSearchParams();
  if (typeof body === 'object' && body !== null) {
    for (const name of ['query', 'operationName', 'variables', 'extensions']) {
      const value = (body as Record<string, unknown>)[name];
      if (value !== undefined && value !== null)
        params.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    }
  }
  return `?${params.toString()}`;
}

export function graphqlHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: (http: { req: Request; res: Response }) => Promise<TContext>,
  options: GraphqlHandlerOptions = {},
): RequestHandler {
  server.assertStarted('graphqlHandler()');
  return async (req, res) => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const queryAt = req.url.indexOf('?');
    const method = req.method.toUpperCase();
    const search =
      method === 'GET' && options.getFromBody ? searchFromBody(req.body) : queryAt === -1 ? '' : req.url.slice(queryAt);
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method,
        headers,
        search,
        // Set by express.json, which runs before this on every route that leads here.
        body: req.body as unknown,
      },
      context: () => context({ req, res }),
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      options.onAnswer?.(res, res.statusCode, response.body.string);
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
