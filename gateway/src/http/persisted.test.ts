import { createLogger } from '../../../common/logger';
import type { ApqStore } from '../persisted/apq';
import type { ManifestCatalog } from '../persisted/catalog';
import { FRONTEND_MANIFEST, operationId, type PersistedOperation } from '../persisted/manifest';
import type { SafelistMode } from '../tenants/tenant';
import type { Caller } from '../request';
import { requestedOperationId, resolvePersistedRequest, type PersistedStageOptions } from './persisted';

const LISTED = 'query Listed {\n  hello\n}';
const OTHER = 'query Other {\n  hello\n}';
const listed: PersistedOperation = { id: operationId(LISTED), name: 'Listed', type: 'query', body: LISTED };

const partner: Caller = {
  tenantId: 'acme',
  principal: 'key:k',
  roles: [],
  credential: 'apiKey',
  tokenExpiresAt: Infinity,
  manifest: 'erp',
};
const person: Caller = {
  tenantId: 'acme',
  principal: 'u-1',
  roles: ['customer'],
  credential: 'jwt',
  tokenExpiresAt: Infinity,
};
const byHash = (id: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } });

function setup(mode: SafelistMode = 'off') {
  const apq = new Map<string, string>();
  const manifests: ManifestCatalog = {
    manifestFor: async (tenantId, client) => ({
      tenantId,
      client,
      operations: new Map(
        tenantId === 'acme' && (client === 'erp' || client === FRONTEND_MANIFEST) ? [[listed.id, listed]] : [],
      ),
    }),
    applyChange: () => undefined,
    resync: () => undefined,
  };
  const store: ApqStore = {
    lookup: async (tenantId, hash) => apq.get(`${tenantId}:${hash}`),
    register: async (tenantId, hash, query) => {
      apq.set(`${tenantId}:${hash}`, query);
    },
    close: async () => undefined,
  };
  const logs: Record<string, unknown>[] = [];
  const options: PersistedStageOptions = {
    manifests,
    apq: store,
    safelistModeFor: () => mode,
    logger: createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
  };
  const resolve = (body: unknown, caller: Caller) => resolvePersistedRequest(body, caller, 'req-1', options);
  const refusal = (body: unknown, caller: Caller) =>
    resolve(body, caller).then(
      () => 'resolved',
      (error: { extensions?: { code?: unknown } }) => error.extensions?.code,
    );
  return { apq, logs, resolve, refusal };
}

describe('requestedOperationId', () => {
  it('reads the APQ extension and documentId, which must agree', () => {
    expect(requestedOperationId(byHash(listed.id))).toBe(listed.id);
    expect(requestedOperationId({ documentId: `sha256:${listed.id}` })).toBe(listed.id);
    expect(requestedOperationId({ documentId: listed.id, ...byHash(listed.id) })).toBe(listed.id);
    expect(requestedOperationId({ query: LISTED })).toBeUndefined();
    expect(() => requestedOperationId({ documentId: operationId(OTHER), ...byHash(listed.id) })).toThrow(
      'different operations',
    );
    expect(() => requestedOperationId(byHash('ABC'))).toThrow('SHA-256');
    expect(() => requestedOperationId({ extensions: { persistedQuery: { sha256Hash: listed.id } } })).toThrow(
      'version',
    );
  });
});

describe('resolvePersistedRequest for API keys', () => {
  it('replaces the id with the operation of the key manifest, keeping variables and other extensions', async () => {
    const { resolve } = setup();
    const body = {
      operationName: 'Listed',
      variables: { a: 1 },
      extensions: { persistedQuery: { version: 1, sha256Hash: listed.id }, trace: true },
    };
    await expect(resolve(body, partner)).resolves.toEqual({
      operationName: 'Listed',
      variables: { a: 1 },
      extensions: { trace: true },
      query: LISTED,
    });
    await expect(resolve({ documentId: listed.id }, partner)).resolves.toEqual({ query: LISTED });
  });

  it.each<[string, unknown, string]>([
    ['a query text', { query: LISTED }, 'PERSISTED_QUERY_ID_REQUIRED'],
    ['a registration', { query: LISTED, ...byHash(listed.id) }, 'PERSISTED_QUERY_ID_REQUIRED'],
    ['nothing to run', {}, 'PERSISTED_QUERY_ID_REQUIRED'],
    ['an id outside the manifest', byHash(operationId(OTHER)), 'PERSISTED_QUERY_NOT_IN_LIST'],
  ])('refuses %s', async (_what, body, code) => {
    await expect(setup().refusal(body, partner)).resolves.toBe(code);
  });

  it('refuses every id for a key without a manifest, or with one of another tenant', async () => {
    const { refusal } = setup();
    await expect(refusal(byHash(listed.id), { ...partner, manifest: undefined })).resolves.toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
    await expect(refusal(byHash(listed.id), { ...partner, tenantId: 'globex' })).resolves.toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
  });

  it('leaves a batch to Apollo Server, which refuses it', async () => {
    const batch = [byHash(listed.id)];
    await expect(setup().resolve(batch, partner)).resolves.toBe(batch);
  });
});

describe('resolvePersistedRequest for frontends', () => {
  it('registers a query under its hash and resolves the hash afterwards', async () => {
    const { apq, resolve, refusal } = setup();
    await expect(refusal(byHash(operationId(OTHER)), person)).resolves.toBe('PERSISTED_QUERY_NOT_FOUND');
    await expect(resolve({ query: OTHER, ...byHash(operationId(OTHER)) }, person)).resolves.toEqual({ query: OTHER });
    expect(apq.get(`acme:${operationId(OTHER)}`)).toBe(OTHER);
    await expect(resolve(byHash(operationId(OTHER)), person)).resolves.toEqual({ query: OTHER });
    // In the registering tenant's space only: another tenant's frontend must register it itself.
    await expect(refusal(byHash(operationId(OTHER)), { ...person, tenantId: 'globex' })).resolves.toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });

  it('refuses a hash that does not match the query', async () => {
    await expect(setup().refusal({ query: OTHER, ...byHash(listed.id) }, person)).resolves.toBe('BAD_REQUEST');
  });

  it('passes plain queries through untouched with the safelist off', async () => {
    const body = { query: OTHER };
    await expect(setup().resolve(body, person)).resolves.toBe(body);
  });

  it('in enforce mode runs only the frontend manifest, and registers nothing else', async () => {
    const { apq, resolve, refusal } = setup('enforce');
    await expect(resolve({ query: LISTED }, person)).resolves.toEqual({ query: LISTED });
    await expect(resolve(byHash(listed.id), person)).resolves.toEqual({ query: LISTED });
    await expect(refusal({ query: OTHER }, person)).resolves.toBe('PERSISTED_QUERY_NOT_IN_LIST');
    await expect(refusal({ query: OTHER, ...byHash(operationId(OTHER)) }, person)).resolves.toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
    await expect(refusal(byHash(operationId(OTHER)), person)).resolves.toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(apq.size).toBe(0);
  });

  it('in log-unknown mode runs everything and logs what is outside the frontend manifest', async () => {
    const { logs, resolve } = setup('log-unknown');
    await resolve({ query: LISTED }, person);
    expect(logs).toEqual([]);
    await resolve({ query: OTHER, operationName: 'Other' }, person);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'operation outside the frontend safelist',
        requestId: 'req-1',
        tenant: 'acme',
        operationId: operationId(OTHER),
        operationName: 'Other',
      }),
    ]);
  });
});
