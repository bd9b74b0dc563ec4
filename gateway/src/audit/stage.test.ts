import { parse, type OperationDefinitionNode } from 'graphql';
import { DEFAULT_PLANS } from '../tenants/plan';
import type { OperationRequest } from '../request';
import { createAuditStage } from './stage';

function request(source: string, plan: string): OperationRequest {
  const document = parse(source);
  return {
    operation: document.definitions[0] as OperationDefinitionNode,
    tenant: { plan: DEFAULT_PLANS.find((p) => p.id === plan)! },
    log: { errorCodes: [] },
  } as unknown as OperationRequest;
}

describe('the audit stage', () => {
  const mutation = 'mutation { adjustStock(productId: "p", delta: 1) { id } }';

  it('refuses mutations with SERVICE_UNAVAILABLE while degraded, for a plan requiring a complete trail', () => {
    const stage = createAuditStage({ degraded: () => true, overflow: 'plan' });
    const refused = request(mutation, 'enterprise');
    expect(() => stage.run(refused)).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({
          code: 'SERVICE_UNAVAILABLE',
          http: expect.objectContaining({ status: 503 }),
        }),
      }),
    );
    expect(refused.log.reason).toBe('audit-trail-unavailable');
  });

  it('lets queries, other plans, a healthy trail and the count policy through', () => {
    expect(
      createAuditStage({ degraded: () => true, overflow: 'plan' }).run(request('{ me { id } }', 'enterprise')),
    ).toBeUndefined();
    expect(createAuditStage({ degraded: () => true, overflow: 'plan' }).run(request(mutation, 'pro'))).toBeUndefined();
    expect(
      createAuditStage({ degraded: () => false, overflow: 'plan' }).run(request(mutation, 'enterprise')),
    ).toBeUndefined();
    expect(
      createAuditStage({ degraded: () => true, overflow: 'count' }).run(request(mutation, 'enterprise')),
    ).toBeUndefined();
  });
});
