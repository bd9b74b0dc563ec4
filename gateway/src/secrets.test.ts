/**
 * No secret ever reaches a log line or a response: a run of good and bad requests with every kind of credential,
 * then every log line and every response (body and headers) is scanned for each raw secret involved.
 */
import { exportJWK } from 'jose';
import { deriveSubgraphKey, INTERNAL_TOKEN_HEADER } from '../../common/internal-token';
import { SUBGRAPH_NAMES } from '../../subgraphs/catalog';
import { parseApiKey } from './credentials/api-keys';
import { byId, testManifest } from './testing/manifests';
import { startTestPlatform, type GraphQLHttpResult, type TestPlatform } from './testing/platform';

const WHOAMI = { query: 'query Who { whoami { tenant principal } }' };
/** Partners name persisted operations by id. */
const WHOAMI_BY_ID = byId(WHOAMI.query);

describe('secrets', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it('never appear in logs or responses, whatever the requests', async () => {
    const secrets = new Map<string, string>();
    const responses: GraphQLHttpResult[] = [];
    const send = async (...args: Parameters<TestPlatform['graphql']>) => {
      responses.push(await platform.graphql(...args));
    };

    if (platform.config.internalSecret.source !== 'env')
      throw new Error('the platform runs with an explicit internal secret');
    const internalSecret = platform.config.internalSecret.secret;
    secrets.set('internal secret', internalSecret.toString('hex'));
    secrets.set('internal secret (base64)', internalSecret.toString('base64'));
    for (const name of SUBGRAPH_NAMES)
      secrets.set(`${name} key`, deriveSubgraphKey(internalSecret, name).toString('hex'));
    const signingKey = await exportJWK(platform.issuer.privateKey);
    secrets.set('signing key', signingKey.d!);

    const good = await platform.issuer.sign();
    const expired = await platform.issuer.sign({ exp: Math.floor(Date.now() / 1000) - 3_600 });
    const badTenant = await platform.issuer.sign({ tenant: 'Not A Tenant' });
    const globex = await platform.issuer.sign({ tenant: 'globex' });
    const tampered = `${good.slice(0, -10)}AAAAAAAAAA`;
    for (const [label, token] of Object.entries({ good, expired, badTenant, globex, tampered }))
      secrets.set(`JWT ${label}`, token);

    const keyRequest = () => ({
      tenantId: 'globex',
      clientName: 'Scanner',
      scopes: ['catalog:read'],
      manifest: 'scan-v1',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    const issue = () => platform.controlPlane.apiKeys.issue(keyRequest());
    await platform.controlPlane.manifests.publish(
      'globex',
      'scan-v1',
      testManifest(platform.config.supergraphPath, WHOAMI.query),
    );
    // The key expected to work waits until the gateway knows it (its announcement is asynchronous).
    const live = await platform.issueApiKey(keyRequest());
    const revoked = await issue();
    await platform.controlPlane.apiKeys.revoke(revoked.record.id);
    const rotated = await issue();
    const { issued: replacement } = await platform.controlPlane.apiKeys.rotate(rotated.record.id, { overlapMs: 0 });
    const wrongSecret = `tg_live_${live.record.id}_${'W'.repeat(40)}`;
    for (const [label, key] of Object.entries({
      live: live.key,
      revoked: revoked.key,
      rotated: rotated.key,
      replacement: replacement.key,
      wrongSecret,
    })) {
      secrets.set(`API key ${label}`, key);
      secrets.set(`API key ${label} (secret)`, parseApiKey(key)!.secret);
    }

    await send(WHOAMI, { token: good });
    await send({ query: '{ crash leak missing }' }, { token: good });
    await send(WHOAMI, { token: expired });
    await send(WHOAMI, { token: badTenant });
    await send(WHOAMI, { token: tampered });
    await send('{"query": ', { token: good });
    await send(WHOAMI, { token: good, headers: { 'x-tenant-id': 'globex' } });
    await platform.controlPlane.tenants.suspendTenant('globex');
    await send(WHOAMI, { token: globex });
    await send(WHOAMI_BY_ID, { apiKey: live.key });
    await platform.controlPlane.tenants.resumeTenant('globex');
    for (const apiKey of [live.key, revoked.key, rotated.key, replacement.key, wrongSecret])
      await send(WHOAMI_BY_ID, { apiKey });
    await send(WHOAMI_BY_ID, { token: null, headers: { authorization: `ApiKey ${live.key}` } });
    await send(WHOAMI_BY_ID, { apiKey: live.key, query: `?api_key=${live.key}` });
    await send(WHOAMI, { token: good, query: `?access_token=${good}` });
    await send(WHOAMI_BY_ID, { apiKey: live.key, headers: { authorization: `Bearer ${good}` } });
    await send(WHOAMI, {
      token: null,
      headers: { authorization: `Basic ${Buffer.from(`user:${live.key}`).toString('base64')}` },
    });

    for (const subgraph of Object.values(platform.subgraphs)) {
      for (const request of subgraph.requests) {
        const token = request.headers[INTERNAL_TOKEN_HEADER];
        if (typeof token === 'string') secrets.set(`internal token to ${subgraph.name}`, token);
      }
    }

    expect(responses.map((r) => r.status)).toEqual([
      200, 200, 401, 401, 401, 400, 403, 403, 403, 200, 401, 401, 200, 401, 200, 401, 401, 401, 401,
    ]);
    const logs = platform.logs.map((line) => JSON.stringify(line)).join('\n');
    expect(logs).toContain('"status":401');
    const answered = responses.map((r) => `${r.text}\n${JSON.stringify([...r.headers])}`).join('\n');
    for (const [label, secret] of secrets) {
      expect({ label, inLogs: logs.includes(secret), inResponses: answered.includes(secret) }).toEqual({
        label,
        inLogs: false,
        inResponses: false,
      });
    }
  });
});
