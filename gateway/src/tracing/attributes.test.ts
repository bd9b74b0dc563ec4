import type { Span } from '@opentelemetry/api';
import type { RequestContext } from '../request';
import { DEFAULT_PLANS } from '../tenants/plan';
import type { TenantRecord } from '../tenants/tenant';
import {
  Attr,
  MAX_CLIENT_TEXT,
  clientAttributes,
  clientText,
  errorCode,
  recordRefusal,
  requestAttributes,
} from './attributes';

const tenant = { id: 'acme', plan: DEFAULT_PLANS[0]! } as unknown as TenantRecord;
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('requestAttributes', () => {
  test('before authentication: nothing', () => {
    expect(requestAttributes({ requestId: 'r1', log: { errorCodes: [] } })).toEqual({});
  });

  test('tenant, plan, credential kind, operation, hash and costs — never principal, key id or client name', () => {
    const request: RequestContext = {
      requestId: 'r1',
      log: { errorCodes: [], requestedCost: 29, actualCost: 14, principal: 'key:k_123' },
      caller: {
        tenantId: 'acme',
        principal: 'key:k_123',
        roles: [],
        credential: 'apiKey',
        tokenExpiresAt: 0,
        apiKeyId: 'k_123',
        clientName: 'partner-co',
        manifest: 'm',
      },
      tenant,
      operationName: 'Sync',
      operation: { operation: 'query' } as RequestContext['operation'],
      queryHash: 'ab'.repeat(32),
    };
    const attributes = requestAttributes(request);
    expect(attributes).toEqual({
      [Attr.TENANT]: 'acme',
      [Attr.PLAN]: DEFAULT_PLANS[0]!.id,
      [Attr.CREDENTIAL_KIND]: 'api-key',
      [Attr.OPERATION_NAME]: 'Sync',
      [Attr.OPERATION_TYPE]: 'query',
      [Attr.DOCUMENT_HASH]: 'ab'.repeat(32),
      [Attr.COST_REQUESTED]: 29,
      [Attr.COST_ACTUAL]: 14,
    });
    expect(JSON.stringify(attributes)).not.toContain('k_123');
  });

  test("the cost stage's estimate before the account hook logged it", () => {
    const request = {
      requestId: 'r1',
      log: { errorCodes: [] },
      cost: { requestedQueryCost: 7 },
    } as unknown as RequestContext;
    expect(requestAttributes(request)).toEqual({ [Attr.COST_REQUESTED]: 7 });
  });
});

describe('client-chosen text', () => {
  test('bounded', () => {
    expect(clientText('x'.repeat(1_000))).toHaveLength(MAX_CLIENT_TEXT);
    expect(clientText('')).toBeUndefined();
    expect(clientText(['a', 'b'])).toBeUndefined();
  });

  test('dropped when it holds a credential', () => {
    expect(clientText(`web ${JWT}`)).toBeUndefined();
    expect(clientText('tg_live_abc_def')).toBeUndefined();
    expect(clientAttributes({ 'apollographql-client-name': JWT, 'apollographql-client-version': '2.0' })).toEqual({
      [Attr.CLIENT_VERSION]: '2.0',
    });
  });

  test('an operation name holding a token is not exported', () => {
    const request = { requestId: 'r', log: { errorCodes: [] }, operationName: `Q_${JWT}` } as unknown as RequestContext;
    expect(requestAttributes(request)).toEqual({});
  });
});

describe('refusals', () => {
  test('the code, not the message', () => {
    expect(errorCode({ extensions: { code: 'FORBIDDEN' }, message: 'secret text' })).toBe('FORBIDDEN');
    expect(errorCode(new Error('boom'))).toBe('INTERNAL_SERVER_ERROR');
    const calls: unknown[] = [];
    const span = {
      setAttribute: (...args: unknown[]) => calls.push(['attr', ...args]),
      setStatus: (status: unknown) => calls.push(['status', status]),
    } as unknown as Span;
    recordRefusal(span, 'RATE_LIMITED');
    expect(calls).toEqual([
      ['attr', Attr.REFUSAL_CODE, 'RATE_LIMITED'],
      ['status', { code: 2, message: 'RATE_LIMITED' }],
    ]);
  });
});
