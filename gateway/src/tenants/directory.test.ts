import { createLogger, type LogFields } from '../../../common/logger';
import { UnknownTenantError, createTenantDirectory, type TenantDirectory, type TenantSource } from './directory';
import { DEFAULT_PLANS } from './plan';
import { ControlPlaneUnavailableError } from './refreshing-cache';
import type { TenantRecord } from './tenant';

const [FREE, PRO] = DEFAULT_PLANS;

function tenant(id: string, overrides: Partial<TenantRecord> = {}): TenantRecord {
  return {
    id,
    name: id,
    status: 'active',
    isolation: 'pooled',
    placementEpoch: 0,
    plan: PRO!,
    origins: [],
    authzMode: 'reject',
    costMode: 'enforce',
    safelistMode: 'off',
    ...overrides,
  };
}

/** A registry in memory that counts its reads and can be made to fail or hang. */
class FakeSource implements TenantSource {
  readonly tenants = new Map<string, TenantRecord>();
  reads = 0;
  failure: 'none' | 'error' | 'hang' = 'none';

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    this.reads++;
    await this.fail();
    return this.tenants.get(id);
  }

  async activeOrigins(): Promise<string[]> {
    this.reads++;
    await this.fail();
    return [...this.tenants.values()].filter((t) => t.status === 'active').flatMap((t) => t.origins);
  }

  private fail(): Promise<void> {
    if (this.failure === 'error') return Promise.reject(new Error('MongoServerSelectionError: connect ECONNREFUSED'));
    if (this.failure === 'hang') return new Promise(() => undefined);
    return Promise.resolve();
  }
}

describe('tenant directory', () => {
  let source: FakeSource;
  let now: number;
  let warnings: { msg: string; fields: LogFields }[];
  let directory: TenantDirectory;

  beforeEach(() => {
    source = new FakeSource();
    source.tenants.set('acme', tenant('acme', { origins: ['https://shop.acme.test'] }));
    source.tenants.set('globex', tenant('globex', { plan: FREE!, origins: ['https://globex.test'] }));
    now = 1_000_000;
    warnings = [];
    const logger = createLogger({
      sink: (line) => {
        const { msg, ...fields } = JSON.parse(line) as { msg: string } & LogFields;
        warnings.push({ msg, fields });
      },
    });
    directory = createTenantDirectory({
      source,
      logger,
      ttlMs: 4_000,
      retryMs: 1_000,
      loadTimeoutMs: 50,
      now: () => now,
    });
  });

  it('answers from memory within the lifetime, then reads again', async () => {
    expect(await directory.tenantFor('acme')).toBe(source.tenants.get('acme'));
    now += 3_999;
    await directory.tenantFor('acme');
    expect(source.reads).toBe(1);
    source.tenants.set('acme', tenant('acme', { status: 'suspended' }));
    now += 1;
    expect((await directory.tenantFor('acme')).status).toBe('suspended');
    expect(source.reads).toBe(2);
  });

  it('reads once for concurrent requests', async () => {
    await Promise.all([directory.tenantFor('acme'), directory.tenantFor('acme'), directory.tenantFor('acme')]);
    expect(source.reads).toBe(1);
  });

  it('reloads a tenant at once when its change is announced', async () => {
    await directory.tenantFor('acme');
    source.tenants.set('acme', tenant('acme', { status: 'suspended' }));
    directory.applyChange({ kind: 'tenant', id: 'globex' });
    expect((await directory.tenantFor('acme')).status).toBe('active');
    directory.applyChange({ kind: 'tenant', id: 'acme' });
    expect((await directory.tenantFor('acme')).status).toBe('suspended');
  });

  it('reloads the tenants on a plan when the plan changes', async () => {
    await directory.tenantFor('acme');
    await directory.tenantFor('globex');
    const reads = source.reads;
    directory.applyChange({ kind: 'plan', id: 'free' });
    await directory.tenantFor('acme');
    await directory.tenantFor('globex');
    expect(source.reads).toBe(reads + 1);
  });

  it('reloads everything on resync', async () => {
    await directory.tenantFor('acme');
    directory.resync();
    await directory.tenantFor('acme');
    expect(source.reads).toBe(2);
  });

  it('does not keep what a read returned when a change overtook the read', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const getTenant = source.getTenant.bind(source);
    const old = tenant('acme');
    source.getTenant = async (id) => {
      await slow;
      return id === 'acme' ? old : getTenant(id);
    };
    const pending = directory.tenantFor('acme');
    directory.applyChange({ kind: 'tenant', id: 'acme' });
    release();
    expect(await pending).toBe(old);
    source.getTenant = getTenant;
    source.tenants.set('acme', tenant('acme', { status: 'suspended' }));
    expect((await directory.tenantFor('acme')).status).toBe('suspended');
  });

  it('refuses ids that are not tenant ids without reading', async () => {
    for (const id of ['', 'ACME', 'acme:*', '__proto__', 'a']) {
      await expect(directory.tenantFor(id)).rejects.toBeInstanceOf(UnknownTenantError);
    }
    expect(source.reads).toBe(0);
  });

  it('refuses a tenant the registry does not have, and reads again next time', async () => {
    await expect(directory.tenantFor('initech')).rejects.toBeInstanceOf(UnknownTenantError);
    source.tenants.set('initech', tenant('initech'));
    await expect(directory.tenantFor('initech')).resolves.toMatchObject({ id: 'initech' });
  });

  describe('when the registry cannot be read', () => {
    it.each([['error'], ['hang']] as const)(
      'serves a cached tenant stale (%s), logs, and retries after a pause',
      async (failure) => {
        const cached = await directory.tenantFor('acme');
        source.failure = failure;
        now += 5_000;
        expect(await directory.tenantFor('acme')).toBe(cached);
        expect(warnings).toContainEqual(
          expect.objectContaining({ msg: 'control plane unreadable; serving the cached tenant' }),
        );
        const reads = source.reads;
        now += 999;
        await directory.tenantFor('acme');
        expect(source.reads).toBe(reads);
        now += 1;
        source.failure = 'none';
        source.tenants.set('acme', tenant('acme', { status: 'suspended' }));
        expect((await directory.tenantFor('acme')).status).toBe('suspended');
      },
    );

    it('fails closed for a tenant it has not cached', async () => {
      source.failure = 'error';
      await expect(directory.tenantFor('acme')).rejects.toBeInstanceOf(ControlPlaneUnavailableError);
      expect(directory.peek('acme')).toBeUndefined();
    });

    it('never puts the error text in what it throws', async () => {
      source.failure = 'error';
      const error = (await directory.tenantFor('acme').catch((e: unknown) => e)) as Error;
      expect(error.message).not.toMatch(/ECONNREFUSED|Mongo/);
    });
  });

  it('peeks at what authentication loaded, without reading', async () => {
    expect(directory.peek('acme')).toBeUndefined();
    const loaded = await directory.tenantFor('acme');
    now += 60_000;
    expect(directory.peek('acme')).toBe(loaded);
    expect(source.reads).toBe(1);
  });

  describe('origins for preflights', () => {
    it('allows the origins of every active tenant, and only those', async () => {
      source.tenants.set('initech', tenant('initech', { status: 'suspended', origins: ['https://initech.test'] }));
      expect(await directory.allowsOriginForSomeTenant('https://shop.acme.test')).toBe(true);
      expect(await directory.allowsOriginForSomeTenant('https://globex.test')).toBe(true);
      expect(await directory.allowsOriginForSomeTenant('https://initech.test')).toBe(false);
      expect(await directory.allowsOriginForSomeTenant('https://evil.test')).toBe(false);
      expect(source.reads).toBe(1);
    });

    it('reads them again when any tenant changes', async () => {
      expect(await directory.allowsOriginForSomeTenant('https://new.acme.test')).toBe(false);
      source.tenants.set('acme', tenant('acme', { origins: ['https://new.acme.test'] }));
      directory.applyChange({ kind: 'tenant', id: 'acme' });
      expect(await directory.allowsOriginForSomeTenant('https://new.acme.test')).toBe(true);
    });
  });
});
