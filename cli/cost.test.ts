/** `tollgate cost`, in-process against the test MongoDB (a control plane of its own), as cli/tollgate.test.ts runs the CLI. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { runTollgate } from './commands';

const mongoUri = process.env.TEST_MONGODB_URI ?? '';
const dbName = `tollgate_control_test_${randomBytes(6).toString('hex')}`;
const env = { MONGODB_URI: mongoUri, CONTROL_DB: dbName, REDIS_URL: process.env.TEST_REDIS_URL ?? '' };

async function tollgate(args: string, extraEnv: Record<string, string> = {}, stdin?: string) {
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

beforeAll(async () => {
  expect((await tollgate('migrate --only control-plane')).code).toBe(0);
});

afterAll(async () => {
  const connection = await mongoose.createConnection(mongoUri, { dbName }).asPromise();
  await connection.dropDatabase();
  await connection.close();
});

describe('cost (pricing a document for client CI, nothing executed)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cost-'));
  const PAGE = join(dir, 'page.graphql');
  const TWO = join(dir, 'two.graphql');
  const BROKEN = join(dir, 'broken.graphql');
  writeFileSync(PAGE, 'query Page($n: Int!) { products(first: $n) { edges { node { id name } } } }\n');
  writeFileSync(TWO, 'query Me { me { id } }\nquery Stock($id: ID!) { product(id: $id) { quantity } }\n');
  writeFileSync(BROKEN, '{ products(first: 1) { edges { node { costPrice } } } }\n');

  beforeAll(async () => {
    // The free plan's maximum is 500: a page of n products costs 1 + 2n.
    expect((await tollgate('tenant create costco --name Costco --plan free')).code).toBe(0);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prices a document within the tenant's plan: exit 0, with the cost and the maximum", async () => {
    const run = await tollgate(`cost ${PAGE} --tenant costco --variables {"n":249}`);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      "Page (query): estimated cost 499, within the maximum of 500 of tenant costco's plan free\n",
    );
    const priced = JSON.parse((await tollgate(`cost ${PAGE} --tenant costco --variables {"n":10} --json`)).stdout);
    expect(priced).toEqual({
      file: PAGE,
      operationName: 'Page',
      operationType: 'query',
      cost: 21,
      maximum: 500,
      overMaximum: false,
      tenant: 'costco',
      plan: 'free',
      costMode: 'enforce',
    });
  });

  it("exits 1 over the plan's maximum, naming the refusal the gateway would answer, and follows a plan change", async () => {
    const run = await tollgate(`cost ${PAGE} --tenant costco --variables {"n":250}`);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      "Page (query): estimated cost 501 exceeds the maximum of 500 of tenant costco's plan free; the gateway refuses it with COST_ESTIMATED_TOO_EXPENSIVE\n",
    );
    const priced = JSON.parse((await tollgate(`cost ${PAGE} --tenant costco --variables {"n":250} --json`)).stdout);
    expect(priced).toMatchObject({ cost: 501, maximum: 500, overMaximum: true });
    await tollgate('tenant set-plan costco pro');
    expect((await tollgate(`cost ${PAGE} --tenant costco --variables {"n":250}`)).code).toBe(0);
    await tollgate('tenant set costco --cost-mode measure');
    const measured = await tollgate(`cost ${PAGE} --tenant costco --variables {"n":5000}`);
    expect(measured.code).toBe(1);
    expect(measured.stdout).toContain('(tenant costco is in cost mode measure: today it is logged, not refused)');
  });

  it('prices against --max-cost without a control plane, and reads standard input', async () => {
    const offline = await tollgate(`cost ${PAGE} --max-cost 100 --variables {"n":50}`, {
      MONGODB_URI: 'mongodb://127.0.0.1:1/',
    });
    expect(offline).toMatchObject({ code: 1, stderr: '' });
    expect(offline.stdout).toContain('estimated cost 101 exceeds the maximum of 100 of --max-cost');
    const piped = await tollgate('cost - --max-cost 100 --json', {}, '{ me { id } }');
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ file: 'standard input', operationName: null, cost: 1 });
  });

  it('picks one of several operations with --operation, and asks for it otherwise (exit 2)', async () => {
    const stock = await tollgate(`cost ${TWO} --tenant costco --operation Stock --variables {"id":"p1"} --json`);
    expect(stock.code).toBe(0);
    expect(JSON.parse(stock.stdout)).toMatchObject({ operationName: 'Stock', cost: 1 });
    const ambiguous = await tollgate(`cost ${TWO} --tenant costco`);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr.split('\n').slice(0, 2)).toEqual([
      `tollgate: cannot price ${TWO}:`,
      '  the document has 2 operations (Me, Stock): name the one to price',
    ]);
    const missing = await tollgate(`cost ${TWO} --tenant costco --operation Stok`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the document has no operation Stok; its operations are Me, Stock');
  });

  it.each([
    [
      'a document that does not validate',
      `cost ${BROKEN} --tenant costco`,
      1,
      'Cannot query field "costPrice" on type "Product"',
    ],
    [
      'a missing variable',
      `cost ${PAGE} --tenant costco`,
      1,
      'Variable "$n" of required type "Int!" was not provided.',
    ],
    [
      'variables that are not JSON',
      `cost ${PAGE} --tenant costco --variables {n:1}`,
      2,
      '--variables must be a JSON object',
    ],
    ['a file that is not there', `cost ${join(dir, 'nope.graphql')} --tenant costco`, 1, 'no such file'],
    ['an unknown tenant', `cost ${PAGE} --tenant nobody`, 1, 'no tenant nobody; the tenants are'],
    ['neither --tenant nor --max-cost', `cost ${PAGE}`, 2, 'give either --tenant <id>'],
    ['both --tenant and --max-cost', `cost ${PAGE} --tenant costco --max-cost 5`, 2, 'give either --tenant <id>'],
    ['a bad --max-cost', `cost ${PAGE} --max-cost -5`, 2, '--max-cost must be a positive integer (not "-5")'],
  ])('refuses %s, saying why', async (_label, args, code, message) => {
    const run = await tollgate(args);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^tollgate: /);
    expect(run.stderr).toContain(message);
  });
});
