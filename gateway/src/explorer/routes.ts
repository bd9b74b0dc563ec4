/**
 * The schema explorer's HTTP side: the page at /explorer and its content-hashed assets, and /schema.graphql, the SDL
 * of the caller's visible schema. The page carries no secret and may load nothing from anywhere but this origin, so
 * it is sent with a strict Content-Security-Policy (no inline script, no framing, requests to this origin only).
 */
import { join } from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { printSchema } from 'graphql';
import type { AuthorizationGate } from '../authz/gate';
import { ErrorCode } from '../errors';
import { requestStateOf } from '../request';
import { ASSETS_DIR, EXPLORER_DIST, type ExplorerManifest } from './bundle';
import type { VisibleSchemas } from './visible-schema';

/**
 * GraphiQL's stylesheet embeds its fonts and icons as data: URLs, and its editors position elements through the
 * CSSOM, which `style-src 'self'` allows; scripts come from this origin only.
 */
export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

const ASSETS_PATH = '/explorer/assets';
const YEAR_SECONDS = 365 * 24 * 3600;

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', EXPLORER_CSP);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  next();
};

function page(manifest: ExplorerManifest): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tollgate schema explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/${manifest.stylesheet}">
</head>
<body>
<div id="root"></div>
<script src="${ASSETS_PATH}/${manifest.script}" defer></script>
</body>
</html>
`;
}

/** GET /explorer and its assets. */
export function explorerRouter(manifest: ExplorerManifest, dist = EXPLORER_DIST): Router {
  const router = express.Router();
  const html = page(manifest);
  router.use(['/explorer', ASSETS_PATH], securityHeaders);
  router.get('/explorer', (_req, res) => {
    // The page names the current bundle; it must not outlive a rebuild in a cache.
    res.setHeader('cache-control', 'no-cache');
    res.type('html').send(html);
  });
  router.use(
    ASSETS_PATH,
    // Names carry a hash of their content, so a cached copy can never be the wrong one.
    express.static(join(dist, ASSETS_DIR), { immutable: true, maxAge: YEAR_SECONDS * 1000, index: false }),
  );
  return router;
}

/** GET /schema.graphql, after authentication: the SDL of what the caller may call; developers only. */
export function schemaDownload(
  served: () => { readonly gate: AuthorizationGate; readonly visibleSchemas: VisibleSchemas },
): RequestHandler {
  return async (_req, res) => {
    const caller = requestStateOf(res)?.caller;
    if (!caller) throw new Error('schemaDownload runs after authentication');
    // The supergraph version served now, taken once: a swap during this request does not mix two versions.
    const { gate, visibleSchemas: schemas } = served();
    if (!(await gate.mayIntrospect(caller))) {
      res.status(403).json({
        errors: [{ message: 'Only developers may download the schema.', extensions: { code: ErrorCode.FORBIDDEN } }],
      });
      return;
    }
    res.setHeader('cache-control', 'private, no-store');
    res.type('text/plain; charset=utf-8').send(printSchema(await schemas.forCaller(caller)));
  };
}
