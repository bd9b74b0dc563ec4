/** The tollgate command, in-process against the test MongoDB and Redis, and once as the real npm script. */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { userIdFor } from '../common/ids';
import { createLogger } from '../common/logger';
import { subscribeToChanges, type ChangeSubscription, type ControlPlaneChange } from '../gateway/src/tenants/changes';
import { buildBundles } from '../scripts/build';
import { runTollgate } from './commands';

const ROOT = join(__dirname, '..');
const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const redisUrl = process.env.TEST_REDIS_URL ?? '';
const dbName = `tollgate_control_test_${randomBytes(6).toString('hex')}`;
const env = { MONGODB_URI: mongoUri, CONTROL_DB: dbName, REDIS_URL: redisUrl };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function tollgate(args: string, extraEnv: Record<string, string> = {}, stdin?: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const argv = args.match(/"[^"]*"|\S+/g)?.map((word) => word.replace(/^"|"$/g, '')) ?? [];
  const code = await runTollgate(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...env, ...extraEnv },
    ...(stdin === undefined ? {} : { stdin: async () => stdin }),
  });
  return { code, stdout, stderr };
}

async function json<T = Record<string, unknown>>(args: string): Promise<T> {
  const run = await tollgate(`${args} --json`);
  if (run.code !== 0) throw new Error(`tollgate ${args} failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

const received: ControlPlaneChange[] = [];
let subscription: ChangeSubscription;

beforeAll(async () => {
  // The deployment step every command relies on (its indexes and the built-in plans): commands only check them.
  expect((await tollgate('migrate --only control-plane')).code).toBe(0);
  subscription = subscribeToChanges({
    redisUrl,
    dbName,
    logger: createLogger({ sink: () => undefined }),
    onChange: (change) => received.push(change),
    onResync: () => undefined,
  });
  await subscription.ready;
});

afterAll(async () => {
  await subscription?.close();
  const connection = await mongoose.createConnection(mongoUri, { dbName }).asPromise();
  await connection.dropDatabase();
  await connection.close();
});

async function announced(change: ControlPlaneChange): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!received.some((c) => c.kind === change.kind && c.id === change.id)) {
    if (Date.now() > deadline) throw new Error(`${change.kind} ${change.id} was not announced`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('usage', () => {
  it('prints the overview and exits 2 without a command, 0 with --help', async () => {
    const bare = await tollgate('');
    expect(bare).toMatchObject({ code: 2, stdout: '' });
    expect(bare.stderr).toContain('Usage: npm run --silent tollgate -- <command>');
    const help = await tollgate('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('key rotate <keyId>');
  });

  it.each([
    ['tenant create'],
    ['tenant list'],
    ['tenant show'],
    ['tenant set'],
    ['tenant set-plan'],
    ['tenant suspend'],
    ['tenant resume'],
    ['plan list'],
    ['plan create'],
    ['plan set'],
    ['key create'],
    ['key list'],
    ['key revoke'],
    ['key rotate'],
    ['manifest publish'],
    ['manifest list'],
    ['manifest show'],
    ['manifest retire'],
    ['token'],
    ['cost'],
    ['migrate'],
    ['tenant'],
    ['plan'],
    ['key'],
    ['manifest'],
  ])('answers %s --help on stdout with exit 0', async (command) => {
    const run = await tollgate(`${command} --help`);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`Usage: npm run --silent tollgate -- ${command}`);
  });

  it.each([
    ['an unknown command', 'tenant delete acme'],
    ['an unknown option', 'tenant list --all'],
    ['a missing argument', 'tenant show'],
    ['an extra argument', 'tenant list acme'],
    ['a bad duration', 'key rotate abc --overlap soon'],
    ['nothing to change', 'tenant set acme'],
  ])('exits 2 for %s, with the reason on stderr', async (_label, args) => {
    const run = await tollgate(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^tollgate: /);
  });

  it.each([
    ['tenant shw acme', 'tollgate: unknown command "tenant shw"; did you mean "tenant show"?'],
    ['tenat list', 'tollgate: unknown command "tenat"; did you mean "tenant list"?'],
    ['plan set pro --max-cots 10', 'tollgate: unknown option --max-cots; did you mean --max-cost?'],
    ['key create --tenant acme --manifset m', 'tollgate: unknown option --manifset; did you mean --manifest?'],
    ['key creat --tenant acme', 'tollgate: unknown command "key creat"; did you mean "key create"?'],
    ['manifest pubilsh x.json', 'tollgate: unknown command "manifest pubilsh"; did you mean "manifest publish"?'],
    ['cots q.graphql --tenant acme', 'tollgate: unknown command "cots"; did you mean "cost"?'],
    ['manifest show --tenant acme --manfest m', 'tollgate: unknown option --manfest; did you mean --manifest?'],
    ['key create --tenant acme --client-nam x', 'tollgate: unknown option --client-nam; did you mean --client-name?'],
  ])('suggests what %s probably meant', async (args, line) => {
    const run = await tollgate(args);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(line);
  });

  it.each([['tenant'], ['plan'], ['key'], ['manifest']])(
    'answers the bare group %s with its actions on stderr and exit 2',
    async (group) => {
      const run = await tollgate(group);
      expect(run).toMatchObject({ code: 2, stdout: '' });
      expect(run.stderr).toMatch(new RegExp(`^Usage: npm run --silent tollgate -- ${group} <action> \\[options\\]\n`));
      expect(run.stderr).toContain(`  ${group} `);
    },
  );

  it('suggests nothing for a word that is no typo', async () => {
    const run = await tollgate('tenant delete acme');
    expect(run.stderr.split('\n')[0]).toBe('tollgate: unknown command "tenant delete"');
  });
});

describe('tenants and plans', () => {
  it('creates, shows, lists and changes a tenant, announcing each change', async () => {
    const created = await json(`tenant create acme --name "Acme Corp" --plan pro --origins http://localhost:5173`);
    expect(created).toMatchObject({
      id: 'acme',
      name: 'Acme Corp',
      status: 'active',
      plan: { id: 'pro' },
      origins: ['http://localhost:5173'],
    });
    await announced({ kind: 'tenant', id: 'acme' });
    expect(await json('tenant show acme')).toEqual(created);
    expect(await json<unknown[]>('tenant list')).toEqual([created]);

    const set = await json(
      'tenant set acme --origins https://shop.acme.test,http://localhost:5173 --authz-mode filter --cost-mode measure --safelist-mode log-unknown',
    );
    expect(set).toMatchObject({
      origins: ['https://shop.acme.test', 'http://localhost:5173'],
      authzMode: 'filter',
      costMode: 'measure',
      safelistMode: 'log-unknown',
    });
    expect(await json('tenant set-plan acme enterprise')).toMatchObject({ plan: { id: 'enterprise' } });

    received.length = 0;
    expect(await json('tenant suspend acme')).toMatchObject({ status: 'suspended' });
    await announced({ kind: 'tenant', id: 'acme' });
    expect(await json('tenant resume acme')).toMatchObject({ status: 'active' });
  });

  it('prints tables for people', async () => {
    const run = await tollgate('tenant list');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^TENANT\s+STATUS\s+PLAN/);
    expect(run.stdout).toContain('acme');
  });

  it.each([
    ['a tenant id that is not a slug', 'tenant create "Acme Inc" --name x', 2],
    ['a bad origin', 'tenant create initech --name Initech --origins https://initech.test/app', 2],
    ['an unknown mode', 'tenant set acme --cost-mode off', 2],
    ['an unknown plan', 'tenant set-plan acme platinum', 1],
    ['a tenant that exists', 'tenant create acme --name Again', 1],
    ['a tenant that does not exist', 'tenant suspend nobody', 1],
  ])('refuses %s', async (_label, args, code) => {
    const run = await tollgate(args);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(/^tollgate: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists the plans and changes a limit, validated', async () => {
    const plans = await json<{ id: string }[]>('plan list');
    expect(plans.map((p) => p.id)).toEqual(['enterprise', 'free', 'pro']);
    received.length = 0;
    expect(await json('plan set pro --max-cost 3000 --budget-restore-rate 600')).toMatchObject({
      id: 'pro',
      limits: { maxCost: 3000, budget: { capacity: 10_000, restoreRate: 600 } },
    });
    await announced({ kind: 'plan', id: 'pro' });
    const refused = await tollgate('plan set pro --max-cost 0');
    expect(refused.code).toBe(2);
    // The flag's name, not the registry's field (maxCost).
    expect(refused.stderr).toContain('--max-cost must be a positive integer (not "0")');
    expect(refused.stderr).not.toContain('maxCost');
    expect((await tollgate('plan set platinum --max-cost 10')).code).toBe(1);
  });

  it('says what is wrong with a negative number, naming the flag, instead of a parser error', async () => {
    const run = await tollgate('plan set pro --max-cost -5');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tollgate: --max-cost must be a positive integer \(not "-5"\)\n/);
    expect(run.stderr).not.toMatch(/Unknown option|maxCost/);
    const rate = await tollgate('plan set pro --budget-restore-rate -0.5');
    expect(rate.stderr).toMatch(/^tollgate: --budget-restore-rate must be a positive number \(not "-0.5"\)\n/);
    expect(
      (await json<{ id: string; limits: { maxCost: number } }[]>('plan list')).find((p) => p.id === 'pro')?.limits
        .maxCost,
    ).toBe(3000);
  });

  it.each([
    ['tenant set-plan acme platinum'],
    ['tenant create initech --name Initech --plan platinum'],
    ['plan set platinum --max-cost 10'],
  ])('lists the plans when %s names one that does not exist', async (args) => {
    const run = await tollgate(args);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('tollgate: no plan platinum; the plans are enterprise, free, pro\n');
  });

  it.each([
    ['--authz-mode', 'strict', 'reject, filter, shadow'],
    ['--cost-mode', 'off', 'enforce, measure'],
    ['--safelist-mode', 'on', 'off, log-unknown, enforce'],
  ])('lists the valid values of %s', async (flag, value, valid) => {
    const run = await tollgate(`tenant set acme ${flag} ${value}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^tollgate: ${flag} must be one of ${valid} \\(not "${value}"\\)\n`));
  });
});

const ACME_PARTNER_MANIFEST = join(ROOT, 'schema', 'operations', 'acme-partner', 'generated', 'manifest.json');

describe('API keys', () => {
  // A tenant of their own, serving the manifest the keys name: a key for a manifest the tenant does not serve is refused.
  const CREATE =
    'key create --tenant keyco --client-name "Keyco ERP" --scopes catalog:read,inventory:read --manifest erp-v1';

  beforeAll(async () => {
    await json('tenant create keyco --name Keyco --plan pro');
    await json(`manifest publish ${ACME_PARTNER_MANIFEST} --tenant keyco --manifest erp-v1`);
  });

  it('prints a new key once: alone with --quiet', async () => {
    const run = await tollgate(`${CREATE} --quiet`);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^tg_live_[A-Za-z0-9]{12}_[A-Za-z0-9]{40}\n$/);
  });

  it('prints the key with its record with --json, and never again', async () => {
    const created = await json<{ key: string; id: string; status: string; expiresAt: string }>(
      `${CREATE} --expires 30d`,
    );
    expect(created.key.startsWith(`tg_live_${created.id}_`)).toBe(true);
    expect(created.status).toBe('active');
    expect(new Date(created.expiresAt).getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const listed = await tollgate('key list --tenant keyco --json');
    expect(listed.stdout).toContain(created.id);
    expect(listed.stdout).not.toContain(created.key.slice(21));
    expect(listed.stdout).not.toContain('secretHash');
  });

  it('rotates with an overlap and revokes, announcing both', async () => {
    const { id } = await json<{ id: string }>(CREATE);
    received.length = 0;
    const rotated = await json<{
      key: string;
      replaces: string;
      retiring: { id: string; status: string; retiresAt: string };
    }>(`key rotate ${id} --overlap 1h`);
    expect(rotated.replaces).toBe(id);
    expect(rotated.retiring).toMatchObject({ id, status: 'retiring' });
    expect(new Date(rotated.retiring.retiresAt).getTime() - Date.now()).toBeGreaterThan(59 * 60_000);
    await announced({ kind: 'apiKey', id });
    const quiet = await tollgate(`key rotate ${rotated.key.slice(8, 20)} --overlap 0 --quiet`);
    expect(quiet.stdout).toMatch(/^tg_live_[A-Za-z0-9]{12}_[A-Za-z0-9]{40}\n$/);
    expect(await json(`key revoke ${id}`)).toMatchObject({ id, status: 'revoked' });
    await announced({ kind: 'apiKey', id });
  });

  it.each([
    ['without scopes', 'key create --tenant acme --client-name x --manifest m', 2],
    ['with an unknown scope', 'key create --tenant acme --client-name x --scopes catalog:admin --manifest m', 2],
    [
      'for a tenant that does not exist',
      'key create --tenant nobody --client-name x --scopes catalog:read --manifest m',
      1,
    ],
    ['for a key that does not exist', 'key revoke AAAAAAAAAAAA', 1],
  ])('refuses %s', async (_label, args, code) => {
    const run = await tollgate(args);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
  });

  it('lists the valid scopes for an unknown one', async () => {
    const run = await tollgate(
      'key create --tenant keyco --client-name x --scopes catalog:read,catalog:admin --manifest erp-v1',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^tollgate: --scopes must be among catalog:read, catalog:write, .* \(not catalog:admin\)\n/,
    );
  });

  it("refuses a manifest the tenant does not serve (a typo), listing the tenant's manifests, and issues nothing", async () => {
    const before = await json<unknown[]>('key list --tenant keyco');
    const run = await tollgate(
      'key create --tenant keyco --client-name "Keyco ERP" --scopes catalog:read --manifest erp-v2',
    );
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe('tollgate: tenant keyco serves no manifest erp-v2; its manifests are erp-v1\n');
    expect(await json<unknown[]>('key list --tenant keyco')).toHaveLength(before.length);

    await json('tenant create emptyco --name Emptyco');
    const none = await tollgate('key create --tenant emptyco --client-name x --scopes catalog:read --manifest erp-v1');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^tollgate: tenant emptyco serves no manifest yet: publish one first/);
  });

  it('refuses a manifest whose every version is retired', async () => {
    await json(`manifest publish ${ACME_PARTNER_MANIFEST} --tenant keyco --manifest old-erp`);
    await json('manifest retire --tenant keyco --manifest old-erp --version 1');
    const run = await tollgate('key create --tenant keyco --client-name x --scopes catalog:read --manifest old-erp');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('tollgate: tenant keyco serves no manifest old-erp; its manifests are erp-v1\n');
  });

  describe('one pair of flags: --client-name is the display name, --manifest the manifest id, in every command', () => {
    it('names them so in the help of key create and of every manifest command', async () => {
      expect((await tollgate('key create --help')).stdout).toContain(
        'key create --tenant <id> --client-name <text> --scopes <scope,…> --manifest <id>',
      );
      for (const action of ['publish', 'list', 'show', 'retire']) {
        const help = (await tollgate(`manifest ${action} --help`)).stdout;
        expect(help).toMatch(new RegExp(`manifest ${action} .*--manifest <id>`));
        expect(help.split('\n')[0]).not.toContain('--client');
      }
    });

    it('still takes key create --client (the old name of --client-name), warning that names the new flag', async () => {
      const run = await tollgate(
        'key create --tenant keyco --client "Old ERP" --scopes catalog:read --manifest erp-v1 --json',
      );
      expect(run.code).toBe(0);
      expect(run.stderr).toBe(
        'tollgate: warning: --client is deprecated here and will be removed; use --client-name\n',
      );
      expect(JSON.parse(run.stdout)).toMatchObject({ clientName: 'Old ERP', manifest: 'erp-v1' });
    });

    it('still takes manifest … --client (the old name of --manifest), warning that names the new flag', async () => {
      const warning = 'tollgate: warning: --client is deprecated here and will be removed; use --manifest\n';
      const published = await tollgate(
        `manifest publish ${ACME_PARTNER_MANIFEST} --tenant keyco --client legacy-erp --json`,
      );
      expect(published).toMatchObject({ code: 0, stderr: warning });
      expect(JSON.parse(published.stdout)).toMatchObject({ client: 'legacy-erp', version: 1 });
      const listed = await tollgate('manifest list --tenant keyco --client legacy-erp --json');
      expect(listed).toMatchObject({ code: 0, stderr: warning });
      expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(1);
      const shown = await tollgate('manifest show --tenant keyco --client legacy-erp --json');
      expect(shown).toMatchObject({ code: 0, stderr: warning });
      const retired = await tollgate('manifest retire --tenant keyco --client legacy-erp --version 1 --json');
      expect(retired).toMatchObject({ code: 0, stderr: warning });
    });

    it('refuses the old and the new name together, and names the new flag when neither is given', async () => {
      const both = await tollgate('manifest show --tenant keyco --manifest erp-v1 --client erp-v1');
      expect(both.code).toBe(2);
      expect(both.stderr.split('\n')[0]).toBe('tollgate: give --manifest only (--client is its old name here)');
      const neither = await tollgate('manifest show --tenant keyco');
      expect(neither.code).toBe(2);
      expect(neither.stderr.split('\n')[0]).toBe('tollgate: --manifest is required');
      const noName = await tollgate('key create --tenant keyco --scopes catalog:read --manifest erp-v1');
      expect(noName.code).toBe(2);
      expect(noName.stderr.split('\n')[0]).toBe('tollgate: --client-name is required');
    });

    it('heads the manifest column MANIFEST in manifest list and key list', async () => {
      expect((await tollgate('manifest list --tenant keyco')).stdout.split('\n')[0]).toMatch(/^MANIFEST\s+VERSION/);
      expect((await tollgate('key list --tenant keyco')).stdout.split('\n')[0]).toMatch(/\sMANIFEST\s/);
    });
  });
});

describe('manifests', () => {
  const ACME_PARTNER = join(ROOT, 'schema', 'operations', 'acme-partner', 'generated', 'manifest.json');
  const SCOPE = '--tenant acme --manifest acme-partner';

  it('publishes versions, lists and shows them, and retires one, announcing every change', async () => {
    received.length = 0;
    const first = await json<{ version: number; status: string; operations: number }>(
      `manifest publish ${ACME_PARTNER} ${SCOPE}`,
    );
    expect(first).toMatchObject({
      tenantId: 'acme',
      client: 'acme-partner',
      version: 1,
      status: 'served',
      operations: 2,
    });
    await announced({ kind: 'manifest', id: 'acme' });
    const human = await tollgate(`manifest publish ${ACME_PARTNER} ${SCOPE}`);
    expect(human).toMatchObject({
      code: 0,
      stdout: 'Published manifest acme-partner version 2 for tenant acme (2 operations).\n',
    });

    const listed = await json<{ version: number; status: string }[]>(`manifest list --tenant acme`);
    expect(listed.map(({ version, status }) => ({ version, status }))).toEqual([
      { version: 1, status: 'superseded' },
      { version: 2, status: 'served' },
    ]);
    const shown = await json<{ version: number; operations: { name: string; body: string }[] }>(
      `manifest show ${SCOPE}`,
    );
    expect(shown.version).toBe(2);
    expect(shown.operations.map((o) => o.name)).toEqual(['AcmeCatalogPage', 'AcmeProductStock']);
    expect((await tollgate(`manifest show ${SCOPE} --version 1`)).stdout).toContain('AcmeProductStock');

    received.length = 0;
    expect(await json(`manifest retire ${SCOPE} --version 2`)).toMatchObject({ version: 2, status: 'retired' });
    await announced({ kind: 'manifest', id: 'acme' });
    expect(await json<{ version: number }>(`manifest show ${SCOPE}`)).toMatchObject({ version: 1 });
  });

  it('refuses a manifest with an operation the supergraph does not validate, listing its errors, and publishes nothing', async () => {
    const body =
      'query Gone {\n  products(first: 1) {\n    edges {\n      node {\n        costPrice\n      }\n    }\n  }\n}';
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-manifest-')), 'manifest.json');
    const id = createHash('sha256').update(body).digest('hex');
    writeFileSync(
      file,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id, name: 'Gone', type: 'query', body }],
      }),
    );
    const run = await tollgate(`manifest publish ${file} --tenant acme --manifest gone`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the manifest was refused; nothing was published');
    expect(run.stderr).toContain('operations[0]: does not validate: Cannot query field "costPrice" on type "Product".');
    expect(await json('manifest list --tenant acme --manifest gone')).toEqual([]);
  });

  it.each([
    ['without a tenant', `manifest publish x.json --manifest c`, 2],
    ['retiring without a version', 'manifest retire --tenant acme --manifest acme-partner', 2],
    ['a manifest id that is not one', `manifest show --tenant acme --manifest a/b --version 1`, 1],
    ['a file that is not there', 'manifest publish /nonexistent.json --tenant acme --manifest c', 1],
    [
      'a tenant that does not exist',
      `manifest publish ${join(ROOT, 'schema', 'operations', 'acme-partner', 'generated', 'manifest.json')} --tenant nobody --manifest c`,
      1,
    ],
  ])('refuses %s', async (_label, args, code) => {
    const run = await tollgate(args);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
  });
});

describe('manifest publish - (standard input)', () => {
  it('publishes a manifest piped in', async () => {
    const run = await tollgate(
      'manifest publish - --tenant acme --manifest piped --json',
      {},
      readFileSync(ACME_PARTNER_MANIFEST, 'utf8'),
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ tenantId: 'acme', client: 'piped', version: 1, operations: 2 });
  });

  it('refuses input that is not JSON, naming standard input', async () => {
    const run = await tollgate('manifest publish - --tenant acme --manifest piped', {}, '{ not json');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tollgate: cannot read standard input as JSON: /);
  });
});

describe('token', () => {
  const accountsDb = `tollgate_accounts_test_${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    const connection = await mongoose.createConnection(mongoUri, { dbName: accountsDb }).asPromise();
    // As accounts stores a user: its id derived from tenant and address, the address itself sealed.
    await connection.collection('users').insertOne({
      _id: new mongoose.Types.ObjectId(userIdFor('acme', 'admin@acme.test')),
      tenantId: 'acme',
      email: 'v1:1:sealed',
      name: 'v1:1:sealed',
    });
    await connection.close();
  });

  afterAll(async () => {
    const connection = await mongoose.createConnection(mongoUri, { dbName: accountsDb }).asPromise();
    await connection.dropDatabase();
    await connection.close();
  });

  const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/;

  it('mints without a word for a tenant and user that exist', async () => {
    const run = await tollgate('token --tenant acme --user admin@acme.test --roles admin', { ACCOUNTS_DB: accountsDb });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(JWT);
  });

  it('warns about a tenant the control plane does not have, and still prints the token', async () => {
    const run = await tollgate('token --tenant nobody --user admin@nobody.test', { ACCOUNTS_DB: accountsDb });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(JWT);
    expect(run.stderr).toBe(
      `tollgate: warning: no tenant nobody in the control plane (${dbName}): the gateway will refuse this token\n`,
    );
  });

  it('warns about a user the tenant does not have', async () => {
    const run = await tollgate('token --tenant acme --user ghost@acme.test', { ACCOUNTS_DB: accountsDb });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(JWT);
    expect(run.stderr).toBe(
      `tollgate: warning: no user ghost@acme.test in tenant acme (${accountsDb}): the token works, but queries about "me" find nobody\n`,
    );
  });

  it('warns that it could not check when MongoDB does not answer, and still prints the token', async () => {
    const run = await tollgate('token --tenant acme --user admin@acme.test', { MONGODB_URI: 'mongodb://127.0.0.1:1/' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(JWT);
    expect(run.stderr).toMatch(/^tollgate: warning: could not check the tenant and user \(/);
  }, 20_000);
});

describe('failures', () => {
  it('saves a change when Redis is down and says it could not be announced', async () => {
    const run = await tollgate('tenant set acme --name "Acme Corporation"', { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^tollgate: warning: the change is saved but could not be announced on Redis/);
    expect(await json('tenant show acme')).toMatchObject({ name: 'Acme Corporation' });
  });

  it("reads MongoDB and Redis through the gateway's validated configuration: a bad REDIS_URL is refused before anything is written", async () => {
    const run = await tollgate('tenant create refused-by-config --name "Never"', { REDIS_URL: 'http://cache:6379' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'tollgate: invalid configuration:\n- REDIS_URL must be a redis:, rediss:, redis+sentinel:, rediss+sentinel:, redis+cluster: or rediss+cluster: URL\n',
    );
    expect((await json<{ id: string }[]>('tenant list')).map((t) => t.id)).not.toContain('refused-by-config');
  });

  it('exits 1 with one line and no stack when MongoDB does not answer', async () => {
    const run = await tollgate('tenant list', { MONGODB_URI: 'mongodb://127.0.0.1:1/' });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tollgate: /);
  });
});

describe('as an npm script', () => {
  it('runs `npm run --silent tollgate`, with exit codes, and keeps `npm run token` working', () => {
    const run = (args: string[]) =>
      spawnSync('npm', ['run', '--silent', ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const key = run([
      'tollgate',
      '--',
      'key',
      'create',
      '--tenant',
      'keyco',
      '--client-name',
      'Script',
      '--scopes',
      'catalog:read',
      '--manifest',
      'erp-v1',
      '--quiet',
    ]);
    expect(key.status).toBe(0);
    expect(key.stdout).toMatch(/^tg_live_[A-Za-z0-9]{12}_[A-Za-z0-9]{40}\n$/);
    expect(run(['tollgate', '--', 'tenant', 'show', 'nobody']).status).toBe(1);
    expect(run(['tollgate', '--', 'tenant', 'show']).status).toBe(2);
    const token = run(['token', '--', '--tenant', 'acme', '--user', 'admin@acme.test', '--roles', 'admin']);
    expect(token.status).toBe(0);
    expect(token.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  }, 60_000);
});

describe('as the tollgate bin (package.json "bin", bin/tollgate.js)', () => {
  const LAUNCHER = join(ROOT, 'bin', 'tollgate.js');

  it("is the package's bin, and runs the sources in a checkout, naming itself tollgate in its usage", () => {
    expect(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin,
    ).toEqual({ tollgate: 'bin/tollgate.js' });
    const help = spawnSync(process.execPath, [LAUNCHER, '--help'], {
      cwd: tmpdir(),
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tollgate <command> \[options\]\n/);
    expect(help.stdout).not.toContain('npm run');
    const usage = spawnSync(process.execPath, [LAUNCHER, 'tenant', 'show'], {
      cwd: tmpdir(),
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('Usage: tollgate tenant show <id>');
  }, 60_000);

  it('reads a manifest from a pipe: manifest publish -', () => {
    const run = spawnSync(
      process.execPath,
      [LAUNCHER, 'manifest', 'publish', '-', '--tenant', 'acme', '--manifest', 'piped-bin', '--json'],
      {
        env: { ...process.env, ...env },
        input: readFileSync(ACME_PARTNER_MANIFEST, 'utf8'),
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ client: 'piped-bin', version: 1 });
  }, 60_000);

  it('runs the built bundle where there are no sources, as in the image', async () => {
    // Inside the project (common/paths.ts finds package.json from the bundle), without cli/: the image's layout.
    const image = mkdtempSync(join(ROOT, '.data', 'bin-test-'));
    try {
      await buildBundles({
        outdir: join(image, 'dist'),
        entries: [{ in: 'cli/tollgate.ts', out: 'tollgate' }],
        defaults: false,
        log: () => undefined,
      });
      mkdirSync(join(image, 'bin'));
      copyFileSync(LAUNCHER, join(image, 'bin', 'tollgate.js'));
      const help = spawnSync(process.execPath, [join(image, 'bin', 'tollgate.js'), 'plan', '--help'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: tollgate plan <action> \[options\]\n/);
      const plans = spawnSync(process.execPath, [join(image, 'bin', 'tollgate.js'), 'plan', 'list', '--json'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(plans.status).toBe(0);
      expect((JSON.parse(plans.stdout) as { id: string }[]).map((p) => p.id)).toEqual(['enterprise', 'free', 'pro']);
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  }, 120_000);
});

// Last: the tests above expect the three built-in plans only.
describe('plan create', () => {
  it('creates a plan with the limits given and the rest from free, announced, and tenants can use it', async () => {
    received.length = 0;
    const created = await json<{ id: string; name: string; limits: Record<string, unknown> }>(
      'plan create partner-gold --name "Partner Gold" --max-cost 4000 --budget-capacity 40000 --max-depth 12',
    );
    const free = (
      await json<{ id: string; limits: { budget: Record<string, number> } & Record<string, unknown> }[]>('plan list')
    ).find((plan) => plan.id === 'free')!;
    expect(created).toEqual({
      id: 'partner-gold',
      name: 'Partner Gold',
      limits: {
        ...free.limits,
        maxCost: 4000,
        maxDepth: 12,
        budget: { capacity: 40_000, restoreRate: free.limits.budget.restoreRate },
      },
    });
    await announced({ kind: 'plan', id: 'partner-gold' });
    expect((await json<{ id: string }[]>('plan list')).map((plan) => plan.id)).toEqual([
      'enterprise',
      'free',
      'partner-gold',
      'pro',
    ]);
    await json('tenant create goldco --name Goldco --plan partner-gold');
    expect(await json('tenant show goldco')).toMatchObject({ plan: { id: 'partner-gold', limits: { maxCost: 4000 } } });
  });

  it('takes the limits not given from --from, and names the plan by its id without --name', async () => {
    const enterprise = (await json<{ id: string; limits: Record<string, unknown> }[]>('plan list')).find(
      (plan) => plan.id === 'enterprise',
    )!;
    expect(await json('plan create big-partner --from enterprise --max-cost 20000')).toEqual({
      id: 'big-partner',
      name: 'big-partner',
      limits: { ...enterprise.limits, maxCost: 20_000 },
    });
  });

  it.each([
    ['no --max-cost', 'plan create silver', 'tollgate: --max-cost is required\n'],
    ['a bad limit', 'plan create silver --max-cost -5', 'tollgate: --max-cost must be a positive integer (not "-5")\n'],
    [
      'a bad budget rate',
      'plan create silver --max-cost 10 --budget-restore-rate 0',
      'tollgate: --budget-restore-rate must be a positive number (not "0")\n',
    ],
    [
      'a bad id',
      'plan create Silver_Plan --max-cost 10',
      'tollgate: plan id must be 2–40 lowercase letters, digits and "-", starting with a letter (not "Silver_Plan")\n',
    ],
    ['no id', 'plan create --max-cost 10', undefined],
  ])('refuses %s with exit 2 and creates nothing', async (_label, args, message) => {
    const run = await tollgate(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    if (message) expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr).not.toMatch(/maxCost|restoreRate/);
    expect((await json<{ id: string }[]>('plan list')).map((plan) => plan.id)).not.toContain('silver');
  });

  it('refuses an existing plan without changing it, and an unknown --from listing the plans (exit 1)', async () => {
    const before = await json('plan list');
    const existing = await tollgate('plan create pro --max-cost 1');
    expect(existing).toMatchObject({ code: 1, stdout: '', stderr: 'tollgate: plan pro already exists\n' });
    const unknown = await tollgate('plan create silver --max-cost 10 --from platinum');
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'tollgate: no plan platinum; the plans are big-partner, enterprise, free, partner-gold, pro\n',
    });
    expect(await json('plan list')).toEqual(before);
  });
});
