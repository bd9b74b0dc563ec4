/**
 * The scripted mix of traffic the metrics tests run against a test platform started with metrics on: acme succeeds
 * (three text queries, one partner operation by persisted id), globex is refused by authorization, the partner asks
 * for an id outside its list, acme asks for a field that fails (an error in an executed operation), and a tenant
 * whose budget fits one operation runs until it is throttled. Returns what happened, for exact assertions.
 */
import { randomBytes } from 'node:crypto';
import { operationId } from '../persisted/manifest';
import { testManifest } from './manifests';
import type { TestPlatform } from './platform';

export const PARTNER_OPERATION = 'query Products {\n  products {\n    id\n    name\n  }\n}';
const WHO = 'query Who {\n  whoami {\n    tenant\n  }\n}';
export const persistedBody = (id: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } });

export interface ScriptedMixResult {
  /** The tenant throttled, and how many of its operations ran before the one answered 429. */
  throttledTenant: string;
  throttledServed: number;
  /** Every credential the mix used, to look for in what the gateway exposes. */
  secrets: string[];
}

export async function runScriptedMix(
  platform: TestPlatform,
  options: { withOperationError?: boolean } = {},
): Promise<ScriptedMixResult> {
  const { controlPlane, issuer } = platform;
  const run = randomBytes(4).toString('hex');
  const throttledTenant = `metrics-${run}`;
  await controlPlane.manifests.publish(
    'acme',
    'acme-erp',
    testManifest(platform.config.supergraphPath, PARTNER_OPERATION),
  );
  const { key: partnerKey } = await controlPlane.apiKeys.issue({
    tenantId: 'acme',
    clientName: 'Acme ERP',
    scopes: ['catalog:read'],
    manifest: 'acme-erp',
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  // A tenant whose budget fits one operation and practically never refills (this control plane's own plans).
  await controlPlane.tenants.createTenant({ id: throttledTenant, name: 'Throttled', plan: 'enterprise' });
  await controlPlane.tenants.updatePlan('enterprise', { limits: { budget: { capacity: 1, restoreRate: 0.001 } } });
  const acmeToken = await issuer.sign({ sub: `metrics-${run}` });
  const globexToken = await issuer.sign({ tenant: 'globex', sub: 'metrics-globex' });
  const throttledToken = await issuer.sign({ tenant: throttledTenant, sub: 'metrics-throttled' });
  const expectAnswer = async (
    answer: Promise<{ status: number; body: { errors?: { extensions?: Record<string, unknown> }[] } }>,
    status: number,
    code?: string,
  ) => {
    const { status: got, body } = await answer;
    const gotCode = body.errors?.[0]?.extensions?.code;
    if (got !== status || gotCode !== code)
      throw new Error(`expected ${status} ${code ?? ''}, got ${got} ${String(gotCode)}`);
  };

  for (let i = 0; i < 3; i += 1) await expectAnswer(platform.graphql({ query: WHO }, { token: acmeToken }), 200);
  await expectAnswer(platform.graphql(persistedBody(operationId(PARTNER_OPERATION)), { apiKey: partnerKey }), 200);
  await expectAnswer(platform.graphql({ query: '{ forbidden }' }, { token: globexToken }), 403, 'FORBIDDEN');
  await expectAnswer(
    platform.graphql(persistedBody(operationId(WHO)), { apiKey: partnerKey }),
    400,
    'PERSISTED_QUERY_NOT_IN_LIST',
  );
  if (options.withOperationError)
    await expectAnswer(platform.graphql({ query: '{ missing }' }, { token: acmeToken }), 200, 'NOT_FOUND');

  // The plan change reaches the gateway within seconds: run until the budget answers 429.
  let served = 0;
  for (let i = 0; i < 50; i += 1) {
    const res = await platform.graphql({ query: WHO }, { token: throttledToken });
    if (res.status !== 200) {
      await expectAnswer(Promise.resolve(res), 429, 'RATE_LIMITED');
      return {
        throttledTenant,
        throttledServed: served,
        secrets: [partnerKey, acmeToken, globexToken, throttledToken],
      };
    }
    served += 1;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${throttledTenant} was never throttled`);
}
