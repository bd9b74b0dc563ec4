/**
 * Issue 18, export and import with encryption at rest: a tenant's export carries its personal fields opened (the
 * tenant's data, handed to it), and its re-import into another tenant seals them again under that tenant's key —
 * stored sealed, readable there, never a ciphertext bound to the source tenant. The real platform, the CLI in-process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEnvFor, runCli } from './cli';
import { startRealPlatform, type RealPlatform } from './platform';

jest.setTimeout(120_000);

let platform: RealPlatform;
let env: NodeJS.ProcessEnv;

const tollgate = (args: string[]) => runCli(env, args);

beforeAll(async () => {
  platform = await startRealPlatform();
  env = cliEnvFor(platform);
});

afterAll(async () => {
  await platform?.stop();
});

it('exports personal fields opened and imports them sealed under the target tenant’s key', async () => {
  const run = randomBytes(3).toString('hex');
  const source = `copysrc-${run}`;
  const target = `copydst-${run}`;
  const email = `ada-${run}@copy.test`;
  const name = `Ada Copy ${run}`;
  const created = await tollgate(['tenant', 'create', source, '--admin-email', email, '--admin-name', name]);
  expect(created).toMatchObject({ code: 0, stderr: '' });
  expect((await tollgate(['tenant', 'create', target])).code).toBe(0);

  // The raw driver (the tenant plugin guards mongoose's own collection handle): what is at rest.
  const { connection } = platform.subgraphs.accounts;
  const users = connection.getClient().db(connection.name).collection('users');
  const stored = await users.findOne({ tenantId: source });
  // At rest the address and the name are sealed under the source tenant's key.
  expect(String(stored?.email)).toMatch(/^v1:/);
  expect(JSON.stringify(stored)).not.toContain(email);

  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-copy-')), 'export.ndjson');
  const exported = await tollgate(['tenant', 'export', source, '--out', file]);
  expect(exported).toMatchObject({ code: 0 });
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const user = lines.map((line) => JSON.parse(line)).find((line) => line.collection === 'users');
  // The export hands the tenant its data: opened, without the derived blind index.
  expect(user.doc).toMatchObject({ email, name });
  expect(user.doc.emailIndex).toBeUndefined();

  const imported = await tollgate(['tenant', 'import', file, '--into', target]);
  expect(imported).toMatchObject({ code: 0 });
  const copy = await users.findOne({ tenantId: target });
  expect(String(copy?.email)).toMatch(/^v1:/);
  expect(JSON.stringify(copy)).not.toContain(email);
  const { cipher } = platform.subgraphs.accounts;
  // Sealed for the target: it opens there, and the blind index is the target's own.
  expect(await cipher.open(target, 'users.email', String(copy!.email))).toBe(email);
  expect(await cipher.open(target, 'users.name', String(copy!.name))).toBe(name);
  expect(copy!.emailIndex).toBe(await cipher.emailIndex(target, email));
  // …and is not the source's ciphertext: it does not open as the source's.
  await expect(cipher.open(source, 'users.email', String(copy!.email))).rejects.toThrow();
});
