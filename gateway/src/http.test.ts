import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger } from '../../common/logger';
import { KeySetUnavailableError } from './credentials/issuers';
import { authenticateRequests, formatForClient, gatewayContext, handleErrors, trackRequests } from './http';
import { currentRequestState, runWithRequestState, type RequestState } from './pipeline';
import type { Authenticator } from './pipeline/authenticate';
import { ControlPlaneUnavailableError } from './tenants/refreshing-cache';

function state(overrides: Partial<RequestState> = {}): RequestState {
  return { requestId: 'req-12345678', startedAt: 0n, log: { errorCodes: [] }, ...overrides };
}

describe('gatewayContext', () => {
  it('refuses with UNAUTHENTICATED 401 when no caller was authenticated', async () => {
    for (const run of [() => gatewayContext(), () => runWithRequestState(state(), () => gatewayContext())]) {
      await expect(run()).rejects.toMatchObject({
        message: 'Missing or invalid credentials',
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      });
    }
  });

  it("hands Apollo Server the authenticated caller and the request's log", async () => {
    const caller = { tenantId: 'acme', principal: 'u', roles: [], credential: 'jwt', tokenExpiresAt: 0 } as const;
    const current = state({ caller });
    const context = await runWithRequestState(current, () => gatewayContext());
    expect(context).toEqual({ requestId: 'req-12345678', caller, log: current.log });
    expect(context.log).toBe(current.log);
  });
});

describe('formatForClient', () => {
  it("masks the error and notes its code in the request's log", () => {
    const current = state();
    const masked = runWithRequestState(current, () => {
      expect(currentRequestState()).toBe(current);
      return formatForClient({ message: 'boom at 10.1.2.3', extensions: { code: 'E_MONGO', stacktrace: ['x'] } });
    });
    expect(masked).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(current.log.errorCodes).toEqual(['INTERNAL_SERVER_ERROR']);
  });
});

describe('authenticateRequests', () => {
  const quiet = createLogger({ sink: () => undefined });

  async function answer(authenticate: Authenticator): Promise<{ status: number; headers: Headers; text: string }> {
    const app = express();
    app.use(trackRequests(quiet));
    app.post('/graphql', authenticateRequests(authenticate, quiet), (_req, res) => res.json({ ok: true }));
    app.use(handleErrors(quiet, 1_024));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, { method: 'POST' });
      return { status: res.status, headers: res.headers, text: await res.text() };
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it.each([
    ['the control plane cannot be read', new ControlPlaneUnavailableError({ cause: new Error('MongoNetworkError 10.1.2.3:27017') })],
    ["an issuer's key set cannot be fetched", new KeySetUnavailableError({ cause: new Error('fetch failed 10.1.2.3') })],
  ])('answers 503 SERVICE_UNAVAILABLE when %s, without saying why', async (_label, error) => {
    const res = await answer(() => Promise.reject(error));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(res.text)).toEqual({
      errors: [{ message: 'The service is temporarily unavailable.', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    });
    expect(res.text).not.toMatch(/10\.1\.2\.3|Mongo|fetch/);
  });

  it('leaves anything unexpected to the error handler: 500, masked', async () => {
    const res = await answer(() => Promise.reject(new TypeError('Cannot read properties of undefined')));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  });
});
