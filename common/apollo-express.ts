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
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method.toUpperCase(),
        headers,
        search: queryAt === -1 ? '' : req.url.slice(queryAt),
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
