import type { Caller, RequestLog } from '../request';
import { eventFromRequest, type RequestFacts } from './from-request';

const hmacKey = Buffer.alloc(32, 1);
const now = () => new Date('2026-12-07T03:00:00.000Z');
const jwtCaller: Caller = {
  tenantId: 'acme',
  principal: 'user-1',
  roles: ['admin'],
  credential: 'jwt',
  tokenExpiresAt: 0,
};
const keyCaller: Caller = {
  tenantId: 'acme',
  principal: 'key:k1',
  roles: [],
  credential: 'apiKey',
  tokenExpiresAt: 0,
  apiKeyId: 'k1',
};

function facts(log: Partial<RequestLog>, status = 200, caller: Caller | null = jwtCaller): RequestFacts {
  return { requestId: 'req-1', status, log: { errorCodes: [], ...log }, ...(caller ? { caller } : {}) };
}

describe('eventFromRequest', () => {
  it('records an executed mutation with its actor, hash, redacted variables and trace id', () => {
    const event = eventFromRequest(
      facts({
        tenantId: 'acme',
        operationType: 'mutation',
        operationName: 'PlaceOrder',
        executed: true,
        documentHash: 'abc',
        traceId: 't'.repeat(32),
        variables: { productId: 'p1', email: 'ada@example.com' },
      }),
      { hmacKey, now },
    );
    expect(event).toMatchObject({
      tenant: 'acme',
      time: '2026-12-07T03:00:00.000Z',
      type: 'mutation',
      action: 'PlaceOrder',
      actor: { principal: 'user-1', credential: 'jwt' },
      outcome: 'ok',
      requestId: 'req-1',
      traceId: 't'.repeat(32),
      documentHash: 'abc',
    });
    expect(event!.variables).toContain('"productId":"p1"');
    expect(event!.variables).not.toContain('ada@example.com');
  });

  it('records a mutation that ran with errors (a 502 when every subgraph failed) as outcome error, with the codes', () => {
    const event = eventFromRequest(
      facts(
        { tenantId: 'acme', operationType: 'mutation', executed: true, errorCodes: ['DOWNSTREAM_SERVICE_ERROR'] },
        502,
      ),
      { hmacKey, now },
    );
    expect(event).toMatchObject({ type: 'mutation', outcome: 'error', errorCodes: ['DOWNSTREAM_SERVICE_ERROR'] });
  });

  it('keeps nothing of a query that ran, or of a request no tenant can be named for', () => {
    expect(
      eventFromRequest(facts({ tenantId: 'acme', operationType: 'query', executed: true }), { hmacKey }),
    ).toBeUndefined();
    expect(eventFromRequest(facts({ errorCodes: ['UNAUTHENTICATED'] }, 401, null), { hmacKey })).toBeUndefined();
  });

  it('records a refusal by a stage (limits answer GRAPHQL_VALIDATION_FAILED) naming the stage', () => {
    const event = eventFromRequest(
      facts(
        { tenantId: 'acme', operationType: 'query', refusedBy: 'limits', errorCodes: ['GRAPHQL_VALIDATION_FAILED'] },
        400,
      ),
      { hmacKey, now },
    );
    expect(event).toMatchObject({
      type: 'refusal',
      action: 'GRAPHQL_VALIDATION_FAILED',
      outcome: 'refused',
      details: { stage: 'limits' },
    });
  });

  it('records an HTTP-layer refusal by its code (persisted operation not in the key manifest)', () => {
    const event = eventFromRequest(
      facts({ tenantId: 'acme', errorCodes: ['PERSISTED_QUERY_NOT_IN_LIST'] }, 400, keyCaller),
      { hmacKey, now },
    );
    expect(event).toMatchObject({
      type: 'refusal',
      action: 'PERSISTED_QUERY_NOT_IN_LIST',
      actor: { principal: 'key:k1', credential: 'apiKey', keyId: 'k1' },
    });
  });

  it('records a revoked key used, under the key tenant, and a tenant mismatch, as credential events', () => {
    const revoked = eventFromRequest(
      facts(
        {
          errorCodes: ['UNAUTHENTICATED'],
          reason: 'api-key:revoked',
          credentialEvent: { tenantId: 'globex', keyId: 'k9', reason: 'api-key:revoked' },
        },
        401,
        null,
      ),
      { hmacKey, now },
    );
    expect(revoked).toMatchObject({
      tenant: 'globex',
      type: 'credential',
      action: 'api-key:revoked',
      actor: { principal: 'key:k9', credential: 'apiKey', keyId: 'k9' },
    });
    const mismatch = eventFromRequest(
      facts(
        { tenantId: 'acme', principal: 'user-1', errorCodes: ['FORBIDDEN'], reason: 'TENANT_MISMATCH' },
        403,
        undefined,
      ),
      { hmacKey, now },
    );
    expect(mismatch).toMatchObject({ tenant: 'acme', type: 'credential', action: 'TENANT_MISMATCH' });
  });

  it('records nothing for a tenant the control plane does not have (never made, or erased)', () => {
    const unknown = (reason: string) =>
      eventFromRequest(
        facts({ tenantId: 'globex', principal: 'user-1', errorCodes: ['FORBIDDEN'], reason }, 403, undefined),
        { hmacKey, now },
      );
    expect(unknown('TENANT_UNKNOWN')).toBeUndefined();
    // A suspended tenant exists: its refusals stay in its trail.
    expect(unknown('TENANT_SUSPENDED')).toMatchObject({ tenant: 'globex', type: 'refusal', action: 'FORBIDDEN' });
  });

  it('hashes a principal that is an e-mail address', () => {
    const event = eventFromRequest(
      facts({ tenantId: 'acme', operationType: 'mutation', executed: true }, 200, {
        ...jwtCaller,
        principal: 'ada@example.com',
      }),
      { hmacKey },
    );
    expect(event!.actor.principal).toMatch(/^hmac:/);
  });
});
