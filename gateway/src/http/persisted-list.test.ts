/**
 * `GET /persisted-operations` against the test platform's real gateway: a partner's key lists exactly the operations
 * of its manifest as served (a new version within the change announcement, a retired one gone), and everything else
 * is refused with the codes every other refusal has.
 */
import { operationId, type PersistedQueryManifest } from '../persisted/manifest';
import { testManifest } from '../testing/manifests';
import { startTestPlatform, type TestPlatform } from '../testing/platform';

const PRODUCTS = 'query Products {\n  products {\n    id\n    name\n  }\n}';
const WHO = 'query Who {\n  whoami {\n    tenant\n  }\n}';

interface Answer {
  status: number;
  cacheControl: string | null;
  body: Record<string, unknown> & { errors?: { extensions?: { code?: string }; message: string }[] };
}

describe('GET /persisted-operations', () => {
  let platform: TestPlatform;
  let manifestOf: (...bodies: string[]) => PersistedQueryManifest;
  let partnerKey: string;
  let noManifestKey: string;
  let globexKey: string;

  const list = async (headers: Record<string, string>, path = '/persisted-operations'): Promise<Answer> => {
    const res = await fetch(`${platform.gateway.url}${path}`, { headers });
    return {
      status: res.status,
      cacheControl: res.headers.get('cache-control'),
      body: JSON.parse(await res.text()) as Answer['body'],
    };
  };
  const code = (answer: Answer) => ({
    status: answer.status,
    codes: answer.body.errors?.map((e) => e.extensions?.code),
  });

  beforeAll(async () => {
    platform = await startTestPlatform();
    manifestOf = (...bodies) => testManifest(platform.config.supergraphPath, ...bodies);
    const { manifests } = platform.controlPlane;
    await manifests.publish('acme', 'acme-list-erp', manifestOf(PRODUCTS));
    await manifests.publish('globex', 'globex-list-wms', manifestOf(WHO));
    const expiresAt = new Date(Date.now() + 86_400_000);
    ({ key: partnerKey } = await platform.issueApiKey({
      tenantId: 'acme',
      clientName: 'Acme ERP',
      scopes: ['catalog:read'],
      manifest: 'acme-list-erp',
      expiresAt,
    }));
    ({ key: noManifestKey } = await platform.issueApiKey({
      tenantId: 'acme',
      clientName: 'Acme nothing',
      scopes: ['catalog:read'],
      manifest: 'acme-list-unpublished',
      expiresAt,
    }));
    ({ key: globexKey } = await platform.issueApiKey({
      tenantId: 'globex',
      clientName: 'Globex WMS',
      scopes: ['catalog:read'],
      manifest: 'globex-list-wms',
      expiresAt,
    }));
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it("lists the ids, names and types of the key's manifest, uncached, and only its own tenant's", async () => {
    const acme = await list({ 'x-api-key': partnerKey });
    expect(acme).toEqual({
      status: 200,
      cacheControl: 'no-store',
      body: {
        tenant: 'acme',
        manifest: 'acme-list-erp',
        version: 1,
        operations: [{ id: operationId(PRODUCTS), name: 'Products', type: 'query' }],
      },
    });
    const globex = await list({ 'x-api-key': globexKey });
    expect(globex.body).toEqual({
      tenant: 'globex',
      manifest: 'globex-list-wms',
      version: 1,
      operations: [{ id: operationId(WHO), name: 'Who', type: 'query' }],
    });
  });

  it('every id listed runs with the key', async () => {
    const { body } = await list({ 'x-api-key': partnerKey });
    for (const { id } of body.operations as { id: string }[]) {
      const res = await platform.graphql(
        { extensions: { persistedQuery: { version: 1, sha256Hash: id } } },
        { apiKey: partnerKey },
      );
      expect({ status: res.status, errors: res.body.errors }).toEqual({ status: 200, errors: undefined });
    }
  });

  it('follows a newly published version and a retired one', async () => {
    const { manifests } = platform.controlPlane;
    const v2 = await manifests.publish('acme', 'acme-list-erp', manifestOf(PRODUCTS, WHO));
    const ids = async () => {
      const { body } = await list({ 'x-api-key': partnerKey });
      return { version: body.version, ids: (body.operations as { id: string }[]).map((o) => o.id).sort() };
    };
    await waitFor(async () =>
      expect(await ids()).toEqual({ version: v2.version, ids: [operationId(PRODUCTS), operationId(WHO)].sort() }),
    );
    await manifests.retire('acme', 'acme-list-erp', v2.version);
    await waitFor(async () => expect(await ids()).toEqual({ version: 1, ids: [operationId(PRODUCTS)] }));
  });

  it('answers an empty list for a key whose manifest is not published', async () => {
    expect(await list({ 'x-api-key': noManifestKey })).toEqual({
      status: 200,
      cacheControl: 'no-store',
      body: { tenant: 'acme', manifest: 'acme-list-unpublished', version: null, operations: [] },
    });
  });

  it('refuses callers without a valid key: 401 UNAUTHENTICATED, uncached, nothing listed', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { 'x-api-key': 'tg_live_not-a-key' },
      { authorization: 'Bearer nope' },
    ];
    for (const headers of attempts) {
      const answer = await list(headers);
      expect({ ...code(answer), cacheControl: answer.cacheControl }).toEqual({
        status: 401,
        codes: ['UNAUTHENTICATED'],
        cacheControl: 'no-store',
      });
      expect(answer.body.operations).toBeUndefined();
    }
  });

  it('refuses JWT callers, developers included, with 403 FORBIDDEN naming API keys', async () => {
    for (const roles of [['customer'], ['developer'], ['admin']]) {
      const token = await platform.issuer.sign({ roles });
      const answer = await list({ authorization: `Bearer ${token}` });
      expect(code(answer)).toEqual({ status: 403, codes: ['FORBIDDEN'] });
      expect(answer.body.errors?.[0]?.message).toMatch(/API keys/);
      expect(answer.body.operations).toBeUndefined();
    }
  });

  it('refuses a key in the URL, as /graphql does, even with a valid key in the header', async () => {
    const answer = await list(
      { 'x-api-key': partnerKey },
      `/persisted-operations?api_key=${encodeURIComponent(partnerKey)}`,
    );
    expect(code(answer)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
    expect(answer.body.operations).toBeUndefined();
    expect(JSON.stringify(answer.body)).not.toContain(partnerKey);
  });
});

async function waitFor(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
