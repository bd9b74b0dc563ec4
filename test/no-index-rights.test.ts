/**
 * Runtime processes need no index rights once `tollgate migrate` has run (issue 15, acceptance 4). The gateway, the
 * four subgraphs and the CLI run as real processes (the CLI in this process) against a MongoDB user that may read and
 * write but not create or drop indexes or collections — played by a wire-protocol proxy in front of FerretDB that
 * answers those commands `Unauthorized` as MongoDB does (test/support/no-index-rights-proxy.ts: FerretDB v1.24
 * refuses users with roles, so it cannot hold such a user itself). `tollgate migrate` runs with the owner's rights,
 * straight to the server, as the deployment's migration Job does.
 *
 * Shown: the simulated user really is refused index creation; before the migration the processes refuse to start
 * and name the command to run, without having tried to create anything; the migration itself needs the rights; after
 * it, every process starts and serves reads and writes, and none of them sent a single refused command.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { runTollgate } from '../cli/commands';
import { userIdFor } from '../common/ids';
import { seedControlPlane } from '../demo/control-plane';
import { demoProductId, seedDemoTenants } from '../demo/subgraph-data';
import { createTestIssuer, type TestIssuer } from '../gateway/src/testing/jwt';
import { writeTrustedIssuersFile } from '../gateway/src/testing/platform';
import { startReplica, stopReplica, type Replica } from '../gateway/src/testing/replicas';
import { SUBGRAPH_NAMES } from '../subgraphs/catalog';
import { startNoIndexRightsProxy, type NoIndexRightsProxy } from './support/no-index-rights-proxy';
import { startSubgraphProcess, stopSubgraphProcess, type SubgraphProcess } from './support/subgraph-process';

const run = randomBytes(4).toString('hex');
const dbNameFor = (name: string) => `norights_${run}_${name}`;
const ownerUri = process.env.TEST_MONGODB_URI ?? '';
const redisUrl = process.env.TEST_REDIS_URL ?? '';
const secret = randomBytes(32);
const DB_PAIRS = SUBGRAPH_NAMES.map((name) => `${name}=${dbNameFor(name)}`).join(',');

let proxy: NoIndexRightsProxy;
let issuer: TestIssuer;
let subgraphs: SubgraphProcess[] = [];
let gateway: Replica | undefined;

async function tollgate(args: string[], mongoUri: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTollgate(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { MONGODB_URI: mongoUri, CONTROL_DB: dbNameFor('control'), REDIS_URL: redisUrl },
  });
  return { code, stdout, stderr };
}

function gatewayEnv(subgraphUrls: Record<string, string>): Record<string, string> {
  return {
    MONGODB_URI: proxy.uri,
    CONTROL_DB: dbNameFor('control'),
    REDIS_URL: redisUrl,
    ...subgraphUrls,
    NODE_ENV: 'production',
    PORT: '0',
    LOG_LEVEL: 'info',
    SHUTDOWN_DELAY_MS: '0',
    TOLLGATE_INTERNAL_SECRET: secret.toString('hex'),
    TRUSTED_ISSUERS_FILE: writeTrustedIssuersFile(issuer),
  };
}

beforeAll(async () => {
  proxy = await startNoIndexRightsProxy(new URL(ownerUri).host);
  issuer = await createTestIssuer();
});

afterAll(async () => {
  await stopReplica(gateway);
  await Promise.all(subgraphs.map(stopSubgraphProcess));
  await proxy?.close();
  const connection = await mongoose.createConnection(ownerUri).asPromise();
  try {
    for (const name of [...SUBGRAPH_NAMES, 'control'])
      await connection.useDb(dbNameFor(name), { useCache: true }).dropDatabase();
  } finally {
    await connection.close();
  }
}, 60_000);

it('the simulated runtime user may read and write, and is refused index and collection creation', async () => {
  const connection = await mongoose.createConnection(proxy.uri, { dbName: dbNameFor('probe') }).asPromise();
  try {
    const probe = connection.collection('probe');
    await expect(probe.createIndex({ a: 1 })).rejects.toMatchObject({ code: 13, codeName: 'Unauthorized' });
    await expect(connection.createCollection('explicit')).rejects.toMatchObject({ code: 13 });
    await probe.insertOne({ a: 1 });
    expect(await probe.countDocuments({ a: 1 })).toBe(1);
    expect(proxy.refused).toEqual([`${dbNameFor('probe')}.createIndexes`, `${dbNameFor('probe')}.create`]);
  } finally {
    await connection.close();
    const owner = await mongoose.createConnection(ownerUri, { dbName: dbNameFor('probe') }).asPromise();
    await owner.dropDatabase();
    await owner.close();
  }
  proxy.refused.length = 0;
});

describe('before `tollgate migrate`', () => {
  it('the gateway and a subgraph refuse to start, name the command, and try to create nothing', async () => {
    await expect(startReplica(gatewayEnv({}))).rejects.toThrow(
      /exited with 1[\s\S]*indexes missing[\s\S]*tollgate migrate/,
    );
    await expect(
      startSubgraphProcess('accounts', { mongoUri: proxy.uri, dbName: dbNameFor('accounts'), secret }),
    ).rejects.toThrow(/exited with 1[\s\S]*tollgate migrate/);
    expect(proxy.forwarded).toContain('listIndexes');
    expect(proxy.refused).toEqual([]);
  }, 120_000);

  it('the migration itself needs index rights: run with the runtime user it fails, naming the refusal', async () => {
    const result = await tollgate(['migrate', '--db', DB_PAIRS], proxy.uri);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not authorized/);
    proxy.refused.length = 0;
  });
});

describe('after `tollgate migrate` (with the owner’s rights)', () => {
  beforeAll(async () => {
    expect(await tollgate(['migrate', '--db', DB_PAIRS], ownerUri)).toMatchObject({ code: 0, stderr: '' });
    await seedDemoTenants({ mongoUri: ownerUri, dbNameFor });
    await seedControlPlane({ mongoUri: ownerUri, dbName: dbNameFor('control') });
    proxy.forwarded.length = 0;
  }, 60_000);

  it('the subgraphs, the gateway and the CLI start and serve reads and writes without one refused command', async () => {
    subgraphs = await Promise.all(
      SUBGRAPH_NAMES.map((name) =>
        startSubgraphProcess(name, {
          mongoUri: proxy.uri,
          dbName: dbNameFor(name),
          secret,
          env: { SHUTDOWN_DELAY_MS: '0' },
        }),
      ),
    );
    gateway = await startReplica(
      gatewayEnv(Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [`${name.toUpperCase()}_URL`, subgraphs[i]!.url]))),
    );
    expect((await fetch(`${gateway.origin}/readyz`)).status).toBe(200);

    const token = await issuer.sign({ tenant: 'acme', sub: userIdFor('acme', 'staff@acme.test'), roles: ['staff'] });
    const post = async (query: string, variables: Record<string, unknown>) => {
      const res = await fetch(gateway!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errors?: unknown } };
    };
    const id = demoProductId('acme', 'MUG-001');
    const read = await post(
      'query($id: ID!) { product(id: $id) { id name quantity reviews(first: 1) { edges { node { id } } } } }',
      {
        id,
      },
    );
    expect(read).toMatchObject({ status: 200, body: { data: { product: { id, name: 'Enamel Mug' } } } });
    expect(read.body.errors).toBeUndefined();
    const written = await post('mutation($input: AddReviewInput!) { addReview(input: $input) { body } }', {
      input: { productId: id, rating: 5, body: `written without index rights ${run}` },
    });
    expect(written).toMatchObject({
      status: 200,
      body: { data: { addReview: { body: `written without index rights ${run}` } } },
    });
    const adjusted = await post('mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id } }', { id });
    expect(adjusted).toMatchObject({ status: 200, body: { data: { adjustStock: { id } } } });

    // The CLI: reads and writes the control plane as the runtime user.
    expect(await tollgate(['tenant', 'create', `norights-${run}`, '--name', 'No Rights'], proxy.uri)).toMatchObject({
      code: 0,
    });
    const listed = await tollgate(['tenant', 'list'], proxy.uri);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`norights-${run}`);

    // Everything went through the runtime user, which every process used to check its indexes, and nothing was refused.
    expect(proxy.forwarded).toEqual(expect.arrayContaining(['listIndexes', 'find', 'insert', 'update']));
    expect(proxy.refused).toEqual([]);
  }, 180_000);
});
