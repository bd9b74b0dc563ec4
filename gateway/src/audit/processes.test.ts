/**
 * The audit trail written by real gateway processes (production mode, Tollgate's own supergraph, subgraphs
 * unreachable — a mutation is executed and fails downstream, which the trail records as much as a success):
 *
 * - two processes writing one tenant's events concurrently leave one chain that verifies, holding every event;
 * - the trail's MongoDB (an embedded FerretDB of this test's own) stopped for 30 s under a bounded load of
 *   mutations: nothing is refused, and once it is back every event is there, in the order the requests were
 *   answered, and the chain verifies;
 * - afterwards no audit document holds a demo user's e-mail address, a token or an API key.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { DEMO_USERS } from '../../../demo/subgraph-data';
import { startFerretDB, type EmbeddedFerretDB } from '../../../scripts/embedded/ferretdb';
import { runTollgate } from '../../../cli/commands';
import { SUBGRAPH_NAMES } from '../../../subgraphs/catalog';
import type { ControlPlane } from '../control-plane/open';
import type { ChangePublisher } from '../tenants/changes';
import { startGatewayProcess, type GatewayProcess } from '../testing/gateway-process';
import { createTestIssuer, type TestIssuer } from '../testing/jwt';
import { openTestControlPlane, writeTrustedIssuersFile } from '../testing/platform';
import type { AuditRecord } from './event';
import { AUDIT_CHECKPOINTS, AUDIT_EVENTS } from './store';

const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const OUTAGE_MS = 30_000;
const INVITE = 'mutation Invite($input: InviteUserInput!) { inviteUser(input: $input) { id } }';
const ADJUST = 'mutation Adjust($id: ID!) { adjustStock(productId: $id, delta: 1) { id } }';
const DEMO_EMAILS = Object.values(DEMO_USERS).flatMap((users) => Object.values(users));

let issuer: TestIssuer;
let controlPlane: ControlPlane;
let changes: ChangePublisher;
let baseEnv: Record<string, string>;
let adminToken: string;
let apiKey: string;
const tokens: string[] = [];
const gateways: GatewayProcess[] = [];
let ferret: EmbeddedFerretDB | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function post(
  gateway: GatewayProcess,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; requestId: string; codes: unknown[] }> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { errors?: { extensions?: { code?: unknown } }[] };
  return {
    status: res.status,
    requestId: res.headers.get('x-request-id') ?? '',
    codes: (answer.errors ?? []).map((e) => e.extensions?.code),
  };
}

/** The n-th mutation of a run: invitations (demo e-mails in the variables) and stock changes, alternating. */
function mutation(n: number): unknown {
  return n % 2 === 0
    ? {
        query: INVITE,
        variables: { input: { name: 'Ada Lovelace', email: DEMO_EMAILS[n % DEMO_EMAILS.length], roles: ['CUSTOMER'] } },
      }
    : { query: ADJUST, variables: { id: `p-${n}` } };
}

async function tollgate(env: Record<string, string>, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

async function auditDocuments(uri: string, dbName: string): Promise<{ events: AuditRecord[]; text: string }> {
  const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
  try {
    const events = (await connection
      .collection(AUDIT_EVENTS)
      .find({})
      .sort({ tenant: 1, seq: 1 })
      .toArray()) as unknown as AuditRecord[];
    const checkpoints = await connection.collection(AUDIT_CHECKPOINTS).find({}).toArray();
    return { events, text: JSON.stringify([events, checkpoints]) };
  } finally {
    await connection.close();
  }
}

function expectNothingSecret(text: string): void {
  for (const email of DEMO_EMAILS) expect(text).not.toContain(email);
  for (const token of tokens) expect(text).not.toContain(token);
  expect(text).not.toContain(apiKey);
  expect(text).not.toContain(apiKey.split('_').at(-1)!);
  expect(text).not.toMatch(/tg_live_|eyJ[\w-]+\.eyJ/);
  expect(text).not.toContain('Ada Lovelace');
}

beforeAll(async () => {
  issuer = await createTestIssuer();
  ({ controlPlane, changes } = await openTestControlPlane());
  await controlPlane.tenants.createTenant({ id: 'acme', name: 'Acme', plan: 'pro' });
  apiKey = (
    await controlPlane.apiKeys.issue({
      tenantId: 'acme',
      clientName: 'partner',
      scopes: ['catalog:read'],
      manifest: 'partner',
      expiresAt: new Date(Date.now() + 86_400_000),
    })
  ).key;
  adminToken = await issuer.sign({ tenant: 'acme', sub: 'admin-1', roles: ['admin'] });
  tokens.push(adminToken);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-audit-key-')), 'audit.pem');
  writeFileSync(
    keyFile,
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    { mode: 0o600 },
  );
  baseEnv = {
    MONGODB_URI: mongoUri,
    CONTROL_DB: controlPlane.dbName,
    REDIS_URL: process.env.TEST_REDIS_URL ?? '',
    ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [`${name.toUpperCase()}_URL`, 'http://127.0.0.1:9/graphql'])),
    NODE_ENV: 'production',
    PORT: '0',
    SHUTDOWN_DELAY_MS: '0',
    LOG_LEVEL: 'info',
    TOLLGATE_INTERNAL_SECRET: randomBytes(32).toString('hex'),
    TRUSTED_ISSUERS_FILE: writeTrustedIssuersFile(issuer),
    BUDGET_REDIS_TIMEOUT_MS: '1000',
    AUDIT_ENABLED: 'true',
    AUDIT_SIGNING_KEY_FILE: keyFile,
    AUDIT_FLUSH_MS: '20',
    AUDIT_CHECKPOINT_MS: '1000',
  };
}, 60_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await ferret?.stop();
  await controlPlane?.dropDatabase();
  await controlPlane?.close();
  await changes?.close();
});

describe('two gateway processes', () => {
  it('write one tenant’s events concurrently into one chain that verifies and holds every event', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'tollgate-spool-'));
    const [a, b] = await Promise.all(
      ['a', 'b'].map((name) => startGatewayProcess({ ...baseEnv, AUDIT_SPOOL_PATH: join(spoolDir, `${name}.ndjson`) })),
    );
    gateways.push(a!, b!);
    const auth = { authorization: `Bearer ${adminToken}` };
    // 3 rounds of 20 concurrent mutations, split over the two processes; then an API key's refused query text, and
    // the same key once revoked (a credential event).
    const answers = [];
    for (let round = 0; round < 3; round++) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, (_, i) => post(i % 2 ? a! : b!, mutation(round * 20 + i), auth)),
        )),
      );
    }
    const keyRefused = await post(a!, { query: '{ __typename }' }, { 'x-api-key': apiKey });
    expect(keyRefused.codes).toEqual(['PERSISTED_QUERY_ID_REQUIRED']);
    await controlPlane.apiKeys.revoke(apiKey.split('_')[2]!);
    let revoked = await post(b!, { query: '{ __typename }' }, { 'x-api-key': apiKey });
    for (let i = 0; i < 50 && revoked.status !== 401; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      revoked = await post(b!, { query: '{ __typename }' }, { 'x-api-key': apiKey });
    }
    expect(revoked.status).toBe(401);
    // Executed, and failed downstream (no subgraph is reachable): never refused on the audit's account.
    for (const answer of answers) expect(answer.codes).toContain('DOWNSTREAM_SERVICE_ERROR');
    // Graceful stop flushes what is queued and signs a checkpoint over each head.
    await Promise.all([a!.stop(), b!.stop()]);

    const { events, text } = await auditDocuments(mongoUri, controlPlane.dbName);
    const acme = events.filter((e) => e.tenant === 'acme');
    const ids = new Set(acme.map((e) => e.requestId));
    for (const answer of answers) expect(ids.has(answer.requestId)).toBe(true);
    // Invitations are executed (and fail downstream); a stock change is refused before execution by the reference
    // check, which cannot ask the products subgraph whether the product exists: a refusal, by that stage.
    answers.forEach((answer, n) => {
      const recorded = acme.find((e) => e.requestId === answer.requestId);
      if (n % 2 === 0) expect(recorded).toMatchObject({ type: 'mutation', action: 'Invite', outcome: 'error' });
      else expect(recorded).toMatchObject({ type: 'refusal', outcome: 'refused', details: { stage: 'references' } });
    });
    expect(acme).toHaveLength(answers.length + 2);
    expect(acme.find((e) => e.requestId === keyRefused.requestId)).toMatchObject({
      type: 'refusal',
      action: 'PERSISTED_QUERY_ID_REQUIRED',
      actor: { credential: 'apiKey' },
    });
    expect(acme.find((e) => e.requestId === revoked.requestId)).toMatchObject({
      type: 'credential',
      action: 'api-key:revoked',
    });
    expect(acme.map((e) => e.seq)).toEqual(acme.map((_, i) => i + 1));
    const verify = await tollgate(baseEnv, 'audit', 'verify', '--tenant', 'acme');
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expectNothingSecret(text);
    // The invitations' variables are there, redacted: the role in clear, the e-mail and name as HMACs.
    const invite = acme.find((e) => e.action === 'Invite');
    expect(JSON.parse(invite!.variables!)).toEqual({
      input: { email: expect.stringMatching(/^hmac:/), name: expect.stringMatching(/^hmac:/), roles: ['CUSTOMER'] },
    });
  }, 120_000);
});

describe('the trail’s MongoDB stopped for 30 s', () => {
  it('loses nothing: every event is written in order once it is back, and the chain verifies', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-audit-ferret-'));
    ferret = await startFerretDB({ port, dataDir });
    const auditEnv = { AUDIT_MONGODB_URI: ferret.uri, AUDIT_DB: 'tollgate_audit' };
    const gateway = await startGatewayProcess({
      ...baseEnv,
      ...auditEnv,
      AUDIT_SPOOL_PATH: join(mkdtempSync(join(tmpdir(), 'tollgate-spool-')), 'spool.ndjson'),
    });
    gateways.push(gateway);
    const auth = { authorization: `Bearer ${adminToken}` };
    const sent: string[] = [];
    const send = async (n: number) => {
      const answer = await post(gateway, mutation(n), auth);
      // Never in the request's way: a pro tenant's mutations are executed throughout (they fail downstream: no
      // subgraph is reachable); its plan does not require a complete trail.
      expect(answer.codes).toContain('DOWNSTREAM_SERVICE_ERROR');
      sent.push(answer.requestId);
    };
    for (let n = 0; n < 5; n++) await send(n);
    await ferret.stop();
    // A bounded load while it is down: one mutation every 250 ms for 30 s.
    const downUntil = Date.now() + OUTAGE_MS;
    for (let n = 5; Date.now() < downUntil; n++) {
      await send(n);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    ferret = await startFerretDB({ port, dataDir });
    for (let n = 0; n < 5; n++) await send(1_000 + n);
    // The spool is replayed by the running gateway (not by its shutdown): wait for the count, then stop.
    const deadline = Date.now() + 30_000;
    let replayedWhileRunning = false;
    while (!replayedWhileRunning && Date.now() < deadline) {
      replayedWhileRunning = (await auditDocuments(ferret.uri, 'tollgate_audit')).events.length >= sent.length;
      if (!replayedWhileRunning) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(replayedWhileRunning).toBe(true);
    await gateway.stop();
    const { events, text } = await auditDocuments(ferret.uri, 'tollgate_audit');
    expect(sent.length).toBeGreaterThan(100);
    expect(events.map((e) => e.requestId)).toEqual(sent);
    expect(events.map((e) => e.seq)).toEqual(sent.map((_, i) => i + 1));
    expect(gateway.logs.some((l) => l.msg === 'audit store unreachable: events spooled')).toBe(true);
    expect(gateway.logs.some((l) => l.msg === 'audit events lost')).toBe(false);
    const verify = await tollgate({ ...baseEnv, ...auditEnv }, 'audit', 'verify', '--tenant', 'acme');
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expectNothingSecret(text);
  }, 180_000);
});
