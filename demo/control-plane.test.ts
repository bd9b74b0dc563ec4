/** The demo tenants in the control plane (moved here from tenants/registry.test.ts with seedControlPlane). */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { openControlPlane } from '../gateway/src/control-plane/open';
import { seedControlPlane } from './control-plane';

const mongoUri = process.env.TEST_MONGODB_URI ?? '';

describe('seedControlPlane', () => {
  const seedDb = `tollgate_control_test_${randomBytes(6).toString('hex')}`;

  afterAll(async () => {
    const connection = await mongoose.createConnection(mongoUri, { dbName: seedDb }).asPromise();
    await connection.dropDatabase();
    await connection.close();
  });

  it("creates the demo tenants once and never undoes an operator's change", async () => {
    expect(await seedControlPlane({ mongoUri, dbName: seedDb })).toEqual({ seeded: true });
    const seeded = await openControlPlane({ mongoUri, dbName: seedDb });
    try {
      expect(await seeded.tenants.getTenant('acme')).toMatchObject({
        plan: { id: 'pro' },
        origins: ['http://localhost:5173'],
        status: 'active',
      });
      expect(await seeded.tenants.getTenant('globex')).toMatchObject({ plan: { id: 'free' }, status: 'active' });
      expect(await seeded.manifests.served('acme', 'acme-partner')).toMatchObject({ version: 1 });
      expect(await seeded.manifests.served('globex', 'globex-partner')).toMatchObject({ version: 1 });
      await seeded.tenants.suspendTenant('globex');
      expect(await seedControlPlane({ mongoUri, dbName: seedDb })).toEqual({ seeded: false });
      expect((await seeded.tenants.getTenant('globex'))?.status).toBe('suspended');
      expect(await seeded.manifests.list('globex')).toHaveLength(1);
    } finally {
      await seeded.close();
    }
  });
});
