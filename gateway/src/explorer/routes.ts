/**
 * The schema explorer's HTTP side: the page at /explorer and its content-hashed assets, and /schema.graphql, the SDL
 * of the caller's visible schema. The page carries no secret and may load nothing from anywhere but this origin, so
 * it is sent with a strict Content-Security-Policy (no inline script, no framing, requests to this origin only).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { printSchema } from 'graphql';
import type { AuthorizationGate } from '../authz/gate';
import { ErrorCode } from '../errors';
import { refuseCredentialsInUrl } from '../http/guards';
import { tokenCaller } from '../http/preview-roles';
import { requestStateOf } from '../request';
import { ASSETS_DIR, EXPLORER_DIST, type ExplorerManifest } from './bundle';
import { developerTools, type DeveloperToolsOptions } from './developer-tools';
import type { VisibleSchemas } from './visible-schema';

/**
 * The assets' policy, and the page's apart from its style nonce. GraphiQL's stylesheet embeds its fonts and icons as
 * data: URLs; scripts come from this origin only, Monaco's web workers included (no blob: workers, so `worker-src`
 * falls back to `script-src 'self'`). Two relaxations for GraphiQL 5's Monaco editors, and only these:
 * - `style-src-attr 'unsafe-inline'`: Monaco renders its lines as HTML with `style="top:…;height:…"` attributes
 *   (innerHTML, for speed); without it the editor draws nothing usable. A style attribute cannot run script, and
 *   `img-src`/`font-src`/`connect-src 'self'` keep any `url()` in one on this origin.
 * - `style-src-elem 'self' 'nonce-…'`: Monaco creates `<style>` elements for its dynamic rules; they carry a nonce
 *   fresh for every response (client/style-nonce.ts), so no other inline `<style>` is admitted.
 */
const POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
];
export const EXPLORER_CSP = POLICY.join('; ');

/** The page's policy: the assets' plus the nonce its `<style>` elements must carry. */
export function explorerPageCsp(nonce: string): string {
  return [...POLICY, `style-src-elem 'self' 'nonce-${nonce}'`].join('; ');
}

const ASSETS_PATH = '/explorer/assets';
const YEAR_SECONDS = 365 * 24 * 3600;

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', EXPLORER_CSP);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  next();
};

/** Where client/workers.ts finds Monaco's workers: data attributes, since the page runs no inline script. */
function workerAttributes(manifest: ExplorerManifest): string {
  const { editorWorker, jsonWorker, graphqlWorker } = manifest.workers;
  return [
    ['data-editor-worker', editorWorker],
    ['data-json-worker', jsonWorker],
    ['data-graphql-worker', graphqlWorker],
  ]
    .map(([name, file]) => ` ${name}="${ASSETS_PATH}/${file}"`)
    .join('');
}

function page(manifest: ExplorerManifest, nonce: string): string {
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
<div id="root" data-style-nonce="${nonce}"${workerAttributes(manifest)}></div>
<script src="${ASSETS_PATH}/${manifest.script}" defer></script>
</body>
</html>
`;
}

/** GET /explorer and its assets. */
export function explorerRouter(manifest: ExplorerManifest, dist = EXPLORER_DIST): Router {
  const router = express.Router();
  router.use(['/explorer', ASSETS_PATH], securityHeaders);
  router.get('/explorer', (_req, res) => {
    // A nonce per response: a page (and its nonce) seen once tells nothing about the next one.
    const nonce = randomBytes(16).toString('base64');
    res.setHeader('content-security-policy', explorerPageCsp(nonce));
    // The page names the current bundle and carries its nonce; it is never kept in a cache.
    res.setHeader('cache-control', 'no-store');
    res.type('html').send(page(manifest, nonce));
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
    // The person decides whether they may download; the persona they preview decides what they see.
    if (!(await gate.mayIntrospect(tokenCaller(caller)))) {
      res.status(403).json({
        errors: [{ message: 'Only developers may download the schema.', extensions: { code: ErrorCode.FORBIDDEN } }],
      });
      return;
    }
    res.setHeader('cache-control', 'private, no-store');
    res.type('text/plain; charset=utf-8').send(printSchema(await schemas.forCaller(caller)));
  };
}

export interface ExplorerRoutesOptions extends DeveloperToolsOptions {
  /** The explorer's bundle; absent when the explorer is off (`EXPLORER_ENABLED`). */
  readonly manifest: ExplorerManifest | undefined;
}

/**
 * Everything the explorer serves: `/schema.graphql` always (developers only), and with the explorer on its page,
 * its assets and the developer tools (developer-tools.ts) — off with the explorer, so a production gateway that
 * does not serve the page has no estimate or plan endpoint either.
 */
export function explorerRoutes(options: ExplorerRoutesOptions): Router {
  const router = express.Router();
  if (options.manifest) {
    router.use(explorerRouter(options.manifest));
    router.use(developerTools(options));
  }
  router.get('/schema.graphql', refuseCredentialsInUrl, options.authenticate, schemaDownload(options.served));
  return router;
}
