import { GraphQLError } from 'graphql';
import type { Role } from '../../../common/ids';
import type { Caller } from '../request';
import { previewCaller, tokenCaller } from './preview-roles';

function jwt(...roles: Role[]): Caller {
  return {
    tenantId: 'acme',
    principal: 'dev@acme.test',
    roles,
    credential: 'jwt',
    tokenExpiresAt: Date.now() + 60_000,
  };
}

function refusal(run: () => unknown): { code: unknown; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    const e = error as GraphQLError;
    return { code: e.extensions.code, message: e.message };
  }
  throw new Error('expected a refusal');
}

describe('previewCaller', () => {
  it('leaves the caller alone without the header', () => {
    const caller = jwt('customer');
    expect(previewCaller(caller, undefined)).toBe(caller);
  });

  it('selects a persona among the roles a developer token holds, keeping the token roles aside', () => {
    const previewed = previewCaller(jwt('developer', 'customer'), ' customer , customer');
    expect(previewed.roles).toEqual(['customer']);
    expect(previewed.tokenRoles).toEqual(['developer', 'customer']);
    expect(previewed.tenantId).toBe('acme');
    expect(previewed.principal).toBe('dev@acme.test');
    expect(tokenCaller(previewed).roles).toEqual(['developer', 'customer']);
    expect(previewCaller(jwt('developer', 'customer'), 'developer,customer').roles).toEqual(['developer', 'customer']);
  });

  it('never adds a role the token does not hold, and says how to get one', () => {
    const { code, message } = refusal(() => previewCaller(jwt('developer'), 'customer'));
    expect(code).toBe('FORBIDDEN');
    expect(message).toContain('does not hold customer');
    expect(message).toContain('--roles developer,customer');
    expect(refusal(() => previewCaller(jwt('developer', 'customer'), 'customer,admin')).code).toBe('FORBIDDEN');
  });

  it('is for developer tokens only: other roles and API keys are refused, not ignored', () => {
    expect(refusal(() => previewCaller(jwt('admin', 'customer'), 'customer'))).toEqual({
      code: 'FORBIDDEN',
      message: expect.stringContaining('developer role'),
    });
    const key: Caller = { ...jwt(), credential: 'apiKey', principal: 'key:k1', scopes: ['catalog:read'] };
    expect(refusal(() => previewCaller(key, 'customer')).code).toBe('FORBIDDEN');
  });

  it('refuses unknown, empty and oversized role lists with the valid roles', () => {
    const unknown = refusal(() => previewCaller(jwt('developer'), 'superuser'));
    expect(unknown.code).toBe('BAD_USER_INPUT');
    expect(unknown.message).toContain('"superuser"');
    expect(unknown.message).toContain('admin, staff, customer, developer');
    expect(refusal(() => previewCaller(jwt('developer'), ' , ')).code).toBe('BAD_USER_INPUT');
    expect(refusal(() => previewCaller(jwt('developer'), 'developer,'.repeat(30))).code).toBe('BAD_USER_INPUT');
    expect(refusal(() => previewCaller(jwt('developer'), '__proto__')).code).toBe('BAD_USER_INPUT');
  });

  it('tokenCaller is the caller itself outside a preview', () => {
    const caller = jwt('developer');
    expect(tokenCaller(caller)).toBe(caller);
  });
});
