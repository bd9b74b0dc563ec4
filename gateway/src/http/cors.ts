/**
 * CORS for tenants' browser frontends. Each tenant lists the web origins its pages are served from; the gateway
 * answers those origins and no others, never with `*`, and never with `Access-Control-Allow-Credentials` (callers
 * send a token in `Authorization`, not cookies, so there is nothing for a browser to attach on its own).
 *
 * A preflight carries no credentials, so its tenant is unknown: it is answered for an origin that some active
 * tenant allows (the union of their lists), and cached by the browser for ten minutes. The actual request then
 * carries a credential, and once that names the tenant its origin is checked against that tenant's own list
 * (`originAllowedFor`): a page of tenant A cannot call as tenant B just because B's origin passed the preflight.
 * An origin no tenant allows gets no CORS headers at all, so the browser refuses to hand the page the answer.
 *
 * Apollo Server's CSRF prevention stays on underneath; `X-Api-Key` is deliberately not an allowed request header:
 * partner keys belong on servers, and a browser cannot send one cross-origin. Which headers are allowed and exposed
 * is cors-headers.ts's: defaults for real clients, plus what the deployment adds.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../../common/logger';
import { requestStateOf } from '../request';
import type { TenantDirectory } from '../tenants/directory';
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';
import type { TenantRecord } from '../tenants/tenant';
import { corsHeaderLists, type CorsHeaderLists } from './cors-headers';

export const PREFLIGHT_MAX_AGE_SECONDS = 600;
/** GET carries persisted queries only (get-requests.ts). */
const ALLOWED_METHODS: readonly string[] = ['GET', 'POST'];

type OriginCheck = Pick<TenantDirectory, 'allowsOriginForSomeTenant'>;

/**
 * OPTIONS on the GraphQL path. Anything that is not a CORS preflight goes on to the method check (405). `headers`
 * defaults to cors-headers.ts's defaults alone.
 */
export function corsPreflight(
  directory: OriginCheck,
  logger: Logger,
  headers: CorsHeaderLists = corsHeaderLists(),
): RequestHandler {
  return async (req, res, next) => {
    const origin = req.get('origin');
    const method = req.get('access-control-request-method');
    if (origin === undefined || method === undefined) return next();
    res.vary('Origin').vary('Access-Control-Request-Method').vary('Access-Control-Request-Headers');
    const state = requestStateOf(res);
    let allowed: boolean;
    try {
      allowed = ALLOWED_METHODS.includes(method) && (await directory.allowsOriginForSomeTenant(origin));
    } catch (error) {
      if (!(error instanceof ControlPlaneUnavailableError)) throw error;
      logger.error('control plane unreadable; refusing a preflight', { requestId: state?.requestId, error });
      res.status(503).end();
      return;
    }
    if (!allowed) {
      if (state) state.log.reason = 'preflight-origin-not-allowed';
      res.status(403).end();
      return;
    }
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-methods', ALLOWED_METHODS.join(', '));
    res.setHeader('access-control-allow-headers', headers.allowed);
    res.setHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
    res.status(204).end();
  };
}

/**
 * On the actual request, before authentication: lets the page read the answer — a 401 included, which it needs to
 * see to sign in again — when some tenant allows its origin. Whether this tenant does is decided after
 * authentication. When the control plane cannot be read the headers are left out; authentication answers 503.
 */
export function corsHeaders(directory: OriginCheck, headers: CorsHeaderLists = corsHeaderLists()): RequestHandler {
  return async (req, res, next) => {
    const origin = req.get('origin');
    if (origin === undefined) return next();
    res.vary('Origin');
    let allowed = false;
    try {
      allowed = await directory.allowsOriginForSomeTenant(origin);
    } catch (error) {
      if (!(error instanceof ControlPlaneUnavailableError)) throw error;
    }
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', headers.exposed);
    }
    next();
  };
}

/**
 * A request without `Origin` is not from a browser page (servers, curl, partners) and has no origin to check. One
 * whose origin is the gateway's own `host` comes from a page the gateway serves itself (the schema explorer): a
 * browser sets `Origin` to the page's origin and `Host` to the server it calls, so another site's page cannot match.
 */
export function originAllowedFor(tenant: TenantRecord, origin: string | undefined, host?: string): boolean {
  return origin === undefined || tenant.origins.includes(origin) || (host !== undefined && hostOf(origin) === host);
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
