import { formatForClient, gatewayContext } from './http';
import { currentRequestState, runWithRequestState, type RequestState } from './pipeline';

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
