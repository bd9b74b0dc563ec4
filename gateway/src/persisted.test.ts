/**
 * Persisted operations over real HTTP, against the test platform's gateway and fixture subgraphs (which record
 * every request they get): partners run only their own manifest and are still authorized and charged; frontends
 * get APQ in Redis and, per tenant, a safelist. Every refusal is checked for its code and status, and for reaching
 * no subgraph.
 */
import Redis from 'ioredis';
import { apqKey } from './persisted/apq';
import { FRONTEND_MANIFEST, operationId, type PersistedQueryManifest } from './persisted/manifest';
import { testManifest } from './testing/manifests';
import { startTestPlatform, type GraphQLHttpResult, type TestPlatform } from './testing/platform';

const PRODUCTS = 'query Products {\n  products {\n    id\n    name\n    inStock\n  }\n}';
const FORBIDDEN = 'query Forbidden {\n  forbidden\n}';
const WHO = 'query Who {\n  whoami {\n    tenant\n  }\n}';
const MISSING = 'query Missing {\n  missing\n}';
const persisted = (id: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } });

function subgraphRequests(platform: TestPlatform): number {
  return Object.values(platform.subgraphs).reduce((n, s) => n + s.requests.length, 0);
}

function expectRefused(platform: TestPlatform, res: GraphQLHttpResult, status: number, code: string): void {
  expect({ status: res.status, codes: res.body.errors?.map((e) => e.extensions?.code), data: res.body.data }).toEqual({
    status,
    codes: [code],
    data: undefined,
  });
  expect(subgraphRequests(platform)).toBe(0);
}

describe('persisted operations over HTTP', () => {
  let platform: TestPlatform;
  let redis: Redis;
  let partnerKey: string;
  let manifestOf: (...bodies: string[]) => PersistedQueryManifest;

  beforeAll(async () => {
    platform = await startTestPlatform();
    redis = new Redis(platform.config.redisUrl);
    manifestOf = (...bodies) => testManifest(platform.config.supergraphPath, ...bodies);
    const { manifests } = platform.controlPlane;
    await manifests.publish('acme', 'acme-erp', manifestOf(PRODUCTS, FORBIDDEN));
    await manifests.publish('globex', 'globex-wms', manifestOf(WHO));
    ({ key: partnerKey } = await platform.issueApiKey({
      tenantId: 'acme',
      clientName: 'Acme ERP',
      scopes: ['catalog:read'],
      manifest: 'acme-erp',
      expiresAt: new Date(Date.now() + 86_400_000),
    }));
  });

  afterAll(async () => {
    redis?.disconnect();
    await platform?.stop();
  });

  beforeEach(() => {
    for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
  });

  describe('API keys', () => {
    it('run an operation of their manifest by its APQ hash, and are charged for it', async () => {
      const res = await platform.graphql(persisted(operationId(PRODUCTS)), { apiKey: partnerKey });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual({
        products: [
          { id: 'p1', name: 'Kettle', inStock: true },
          { id: 'p2', name: 'Teapot', inStock: false },
        ],
      });
      const cost = res.body.extensions?.cost as { actualQueryCost?: number } | undefined;
      expect(cost?.actualQueryCost).toBeGreaterThan(0);
      expect(subgraphRequests(platform)).toBeGreaterThan(0);
    });

    it('run it by documentId, bare or prefixed', async () => {
      for (const documentId of [operationId(PRODUCTS), `sha256:${operationId(PRODUCTS)}`]) {
        const res = await platform.graphql({ documentId }, { apiKey: partnerKey });
        expect(res.status).toBe(200);
        expect(res.body.data?.products).toHaveLength(2);
      }
    });

    it('are still authorized: an operation of their manifest that the policy denies is FORBIDDEN', async () => {
      const res = await platform.graphql(persisted(operationId(FORBIDDEN)), { apiKey: partnerKey });
      expectRefused(platform, res, 403, 'FORBIDDEN');
    });

    it('may not send a query text', async () => {
      const res = await platform.graphql({ query: PRODUCTS }, { apiKey: partnerKey });
      expectRefused(platform, res, 400, 'PERSISTED_QUERY_ID_REQUIRED');
    });

    it('may not send an empty body', async () => {
      const res = await platform.graphql({ variables: {} }, { apiKey: partnerKey });
      expectRefused(platform, res, 400, 'PERSISTED_QUERY_ID_REQUIRED');
    });

    it('may not register an operation (APQ id with its text), even one of their own manifest', async () => {
      for (const query of [PRODUCTS, MISSING]) {
        const res = await platform.graphql({ query, ...persisted(operationId(query)) }, { apiKey: partnerKey });
        expectRefused(platform, res, 400, 'PERSISTED_QUERY_ID_REQUIRED');
      }
    });

    it("may not run another partner's operation", async () => {
      const res = await platform.graphql(persisted(operationId(WHO)), { apiKey: partnerKey });
      expectRefused(platform, res, 400, 'PERSISTED_QUERY_NOT_IN_LIST');
    });

    it("may not run a frontend's APQ hash", async () => {
      const registered = await platform.graphql({ query: MISSING, ...persisted(operationId(MISSING)) });
      expect(registered.status).toBe(200);
      for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
      const res = await platform.graphql(persisted(operationId(MISSING)), { apiKey: partnerKey });
      expectRefused(platform, res, 400, 'PERSISTED_QUERY_NOT_IN_LIST');
    });

    it('may not send a malformed id, or two ids that disagree', async () => {
      expectRefused(platform, await platform.graphql(persisted('abc'), { apiKey: partnerKey }), 400, 'BAD_REQUEST');
      const both = { documentId: operationId(FORBIDDEN), ...persisted(operationId(PRODUCTS)) };
      expectRefused(platform, await platform.graphql(both, { apiKey: partnerKey }), 400, 'BAD_REQUEST');
    });

    it('may not batch', async () => {
      const res = await platform.graphql([persisted(operationId(PRODUCTS)), persisted(operationId(PRODUCTS))], {
        apiKey: partnerKey,
      });
      expectRefused(platform, res, 400, 'BAD_REQUEST');
    });

    it('stop running a retired version, and run the newest one not retired', async () => {
      const { manifests } = platform.controlPlane;
      const v2 = await manifests.publish('acme', 'acme-erp', manifestOf(FORBIDDEN));
      expect(v2.version).toBe(2);
      // The publish is announced; the gateway serves version 2, which no longer holds PRODUCTS.
      await expect(
        until(
          async () => (await platform.graphql(persisted(operationId(PRODUCTS)), { apiKey: partnerKey })).status === 400,
        ),
      ).resolves.toBe(true);
      await manifests.retire('acme', 'acme-erp', 2);
      await expect(
        until(
          async () => (await platform.graphql(persisted(operationId(PRODUCTS)), { apiKey: partnerKey })).status === 200,
        ),
      ).resolves.toBe(true);
      await manifests.retire('acme', 'acme-erp', 1);
      for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
      await expect(
        until(
          async () => (await platform.graphql(persisted(operationId(PRODUCTS)), { apiKey: partnerKey })).status === 400,
        ),
      ).resolves.toBe(true);
      expectRefused(
        platform,
        await platform.graphql(persisted(operationId(PRODUCTS)), { apiKey: partnerKey }),
        400,
        'PERSISTED_QUERY_NOT_IN_LIST',
      );
      await manifests.publish('acme', 'acme-erp', manifestOf(PRODUCTS, FORBIDDEN));
    });
  });

  describe('frontends (APQ)', () => {
    const query = 'query Greeting {\n  greet(role: ADMIN)\n}';

    it('answer an unknown hash with PERSISTED_QUERY_NOT_FOUND in a 200, as Apollo clients expect', async () => {
      const res = await platform.graphql(persisted(operationId(`${query} # unknown`)));
      expectRefused(platform, res, 200, 'PERSISTED_QUERY_NOT_FOUND');
      expect(res.headers.get('cache-control')).toBe('private, no-cache, must-revalidate');
    });

    it('register a query under its hash in Redis with an expiry, then run it by hash alone', async () => {
      const id = operationId(query);
      const registered = await platform.graphql({ query, ...persisted(id) });
      expect(registered.status).toBe(200);
      expect(registered.body.data).toEqual({ greet: 'hello ADMIN' });
      expect(await redis.get(apqKey('acme', id))).toBe(query);
      expect(await redis.ttl(apqKey('acme', id))).toBeGreaterThan(0);
      const byHash = await platform.graphql(persisted(id));
      expect(byHash.status).toBe(200);
      expect(byHash.body.data).toEqual({ greet: 'hello ADMIN' });
      // Per tenant (persisted/apq.ts): another tenant's frontend does not find acme's text, and registers its own.
      const globex = { token: await platform.issuer.sign({ tenant: 'globex' }) };
      for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;
      expectRefused(platform, await platform.graphql(persisted(id), globex), 200, 'PERSISTED_QUERY_NOT_FOUND');
      expect((await platform.graphql({ query, ...persisted(id) }, globex)).body.data).toEqual({ greet: 'hello ADMIN' });
      expect((await platform.graphql(persisted(id), globex)).body.data).toEqual({ greet: 'hello ADMIN' });
      expect(await redis.get(apqKey('globex', id))).toBe(query);
    });

    it('refuse a hash that is not the SHA-256 of the query, and store nothing', async () => {
      const id = operationId('query Other { whoami { tenant } }');
      const res = await platform.graphql({ query, ...persisted(id) });
      expectRefused(platform, res, 400, 'BAD_REQUEST');
      expect(await redis.get(apqKey('acme', id))).toBeNull();
    });

    it('refuse an unsupported persisted query version before Apollo Server sees it', async () => {
      const res = await platform.graphql({
        query,
        extensions: { persistedQuery: { version: 2, sha256Hash: operationId(query) } },
      });
      expectRefused(platform, res, 400, 'BAD_REQUEST');
    });
  });

  describe("a tenant's frontend safelist", () => {
    const token = () => platform.issuer.sign({ tenant: 'globex' });
    const unlisted = 'query Unlisted {\n  greet(role: CUSTOMER)\n}';

    beforeAll(async () => {
      await platform.controlPlane.manifests.publish('globex', FRONTEND_MANIFEST, manifestOf(PRODUCTS));
    });

    afterAll(async () => {
      await platform.controlPlane.tenants.updateTenant('globex', { safelistMode: 'off' });
    });

    it('in enforce mode runs listed operations, by text or id, and refuses everything else', async () => {
      await platform.controlPlane.tenants.updateTenant('globex', { safelistMode: 'enforce' });
      await until(async () => (await platform.graphql({ query: unlisted }, { token: await token() })).status === 400);
      for (const subgraph of Object.values(platform.subgraphs)) subgraph.requests.length = 0;

      expectRefused(
        platform,
        await platform.graphql({ query: unlisted }, { token: await token() }),
        400,
        'PERSISTED_QUERY_NOT_IN_LIST',
      );
      expectRefused(
        platform,
        await platform.graphql({ query: unlisted, ...persisted(operationId(unlisted)) }, { token: await token() }),
        400,
        'PERSISTED_QUERY_NOT_IN_LIST',
      );
      expect(await redis.get(apqKey('globex', operationId(unlisted)))).toBeNull();
      expectRefused(
        platform,
        await platform.graphql(persisted(operationId(unlisted)), { token: await token() }),
        400,
        'PERSISTED_QUERY_NOT_IN_LIST',
      );

      const byText = await platform.graphql({ query: PRODUCTS }, { token: await token() });
      expect(byText.status).toBe(200);
      const byId = await platform.graphql(persisted(operationId(PRODUCTS)), { token: await token() });
      expect(byId.status).toBe(200);
      expect(byId.body.data?.products).toHaveLength(2);
    });

    it('in log-unknown mode runs unlisted operations and logs them', async () => {
      await platform.controlPlane.tenants.updateTenant('globex', { safelistMode: 'log-unknown' });
      await until(async () => (await platform.graphql({ query: unlisted }, { token: await token() })).status === 200);
      const logged = platform.logs.filter(
        (line) => line.msg === 'operation outside the frontend safelist' && line.tenant === 'globex',
      );
      expect(logged.at(-1)).toMatchObject({ operationId: operationId(unlisted) });
      expect(typeof logged.at(-1)?.requestId).toBe('string');
    });

    it("does not apply to another tenant's frontends", async () => {
      const res = await platform.graphql({ query: unlisted });
      expect(res.status).toBe(200);
    });
  });
});

/** Polls `check` until it holds; false after 5 s (the platform's promise for control-plane changes). */
async function until(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
