/** The audit's view of the registry: which tenants are gone, so their spooled events are dropped (writer.ts). */
import { ControlPlaneUnavailableError } from '../tenants/refreshing-cache';
import { UnknownTenantError } from '../tenants/directory';
import type { TenantRecord } from '../tenants/tenant';
import { tenantGoneFrom } from './start';

describe('tenantGoneFrom', () => {
  const directory = {
    async tenantFor(id: string): Promise<TenantRecord> {
      if (id === 'acme') return { id: 'acme', status: 'suspended' } as TenantRecord;
      if (id === 'globex') throw new UnknownTenantError();
      throw new ControlPlaneUnavailableError();
    },
  };
  const tenantGone = tenantGoneFrom(directory);

  it('says a tenant the registry has (suspended included) is there, and one it does not have is gone', async () => {
    expect(await tenantGone('acme')).toBe(false);
    expect(await tenantGone('globex')).toBe(true);
  });

  it('rejects when the control plane cannot say, so the spool waits rather than dropping or writing', async () => {
    await expect(tenantGone('initech')).rejects.toBeInstanceOf(ControlPlaneUnavailableError);
  });
});
