import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import { GraphQLError } from 'graphql';
import { createLogger } from '../../../common/logger';
import { KeySetUnavailableError } from '../credentials/issuers';
import { ErrorCode, gatewayError } from '../errors';
import { authenticateRequests, formatForClient, gatewayContext, handleErrors, refuse, trackRequests } from './guards';
import { attachRequestState, requestStateOf, type RequestState } from '../request';
import type { Authenticator } from './authenticate';
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';

function state(overrides: Partial<RequestState> = {}): RequestState {
  return { requestId: 'req-12345678', log: { errorCodes: [] }, ...overrides };
}

/** A response as far as the request state is concerned, carrying `current` when given. */
function responseWith(current?: RequestState): Response {
  const res = { locals: {} } as unknown as Response;
  if (current) attachRequestState(res, current);
  return res;
}

/** Just enough of an Express response for `refuse`: what it was sent. */
function recordingResponse(current: RequestState) {
  const sent: { status?: number; headers: Record<string, string>; body?: string } = { headers: {} };
  const res = {
    locals: {},
    setHeader: (name: string, value: string) => void (sent.headers[name] = value),
    status: (status: number) => ((sent.status = status), res),
    type: () => res,
    send: (body: string) => void (sent.body = body),
  };
  attachRequestState(res, current);
  return { res: res as unknown as Response, sent };
}

describe('request state', () => {
  it('is kept on the response it was attached to, and only there', () => {
    const current = state();
    const res = responseWith(current);
    expect(requestStateOf(res)).toBe(current);
    expect(requestStateOf(responseWith())).toBeUndefined();
  });
});

describe('gatewayContext', () => {
  it('refuses with UNAUTHENTICATED 401 when no caller was authenticated, and logs the code', async () => {
    const refusal = {
      message: 'Missing or invalid credentials',
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    };
    await expect(gatewayContext({ res: responseWith() })).rejects.toMatchObject(refusal);
    const current = state();
    await expect(gatewayContext({ res: responseWith(current) })).rejects.toMatchObject(refusal);
    expect(current.log.errorCodes).toEqual(['UNAUTHENTICATED']);
  });

  it("hands Apollo Server the authenticated caller and the request's log", async () => {
    const caller = { tenantId: 'acme', principal: 'u', roles: [], credential: 'jwt', tokenExpiresAt: 0 } as const;
    const current = state({ caller });
    const context = await gatewayContext({ res: responseWith(current) });
    expect(context).toEqual({ requestId: 'req-12345678', caller, log: current.log });
    expect(context.log).toBe(current.log);
    expect(current.log.errorCodes).toEqual([]);
  });
});

describe('formatForClient', () => {
  it('masks the error', () => {
    const masked = formatForClient({ message: 'boom at 10.1.2.3', extensions: { code: 'E_MONGO', stacktrace: ['x'] } });
    expect(masked).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});

describe('refuse', () => {
  it("answers the refusal in Apollo Server's shape and notes its code in the request's log", () => {
    const current = state();
    const { res, sent } = recordingResponse(current);
    refuse(res, gatewayError(ErrorCode.RATE_LIMITED, 'Slow down.', { headers: { 'retry-after': '3' } }));
    expect(sent.status).toBe(429);
    expect(sent.headers).toEqual({ 'retry-after': '3' });
    expect(JSON.parse(sent.body ?? '')).toEqual({
      errors: [{ message: 'Slow down.', extensions: { code: 'RATE_LIMITED' } }],
    });
    expect(current.log.errorCodes).toEqual(['RATE_LIMITED']);
  });

  it('notes the code the client is sent: the masked one', () => {
    const current = state();
    const { res, sent } = recordingResponse(current);
    refuse(res, new GraphQLError('boom at 10.1.2.3', { extensions: { code: 'E_MONGO' } }));
    expect(sent.status).toBe(500);
    expect(JSON.parse(sent.body ?? '')).toEqual({
      errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
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
    [
      'the control plane cannot be read',
      new ControlPlaneUnavailableError({ cause: new Error('MongoNetworkError 10.1.2.3:27017') }),
    ],
    [
      "an issuer's key set cannot be fetched",
      new KeySetUnavailableError({ cause: new Error('fetch failed 10.1.2.3') }),
    ],
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
    expect(JSON.parse(res.text)).toEqual({
      errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
  });
});
