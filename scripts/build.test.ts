/**
 * The project root every runtime path hangs from (common/paths.ts), and the bundles `npm run build` writes: built
 * into a folder of their own, they load, find the project's files from where they are, and fail in a controlled way.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEV_SECRETS_DIR } from '../common/dev-secrets';
import { PROJECT_ROOT, findProjectRoot } from '../common/paths';
import { DEFAULT_SUPERGRAPH_PATH } from '../gateway/src/config';
import { EXPLORER_DIST } from '../gateway/src/explorer/bundle';
import { SUBGRAPH_NAMES, subgraphSchemaPath } from '../subgraphs/catalog';
import { openDatabase } from '../subgraphs/kit/database';
import { migrateSubgraphs } from '../subgraphs/migrate';
import { testMongoUri, uniqueDbName } from '../subgraphs/kit/testing';
import { DEFAULT_BUNDLES, buildBundles, type BuiltBundle } from './build';

const ROOT = join(__dirname, '..');

describe('PROJECT_ROOT', () => {
  test('is the directory of this package.json, named tollgate', () => {
    expect(PROJECT_ROOT).toBe(ROOT);
    expect((JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string }).name).toBe(
      'tollgate',
    );
    expect(findProjectRoot(join(ROOT, 'gateway', 'src', 'explorer', 'client'))).toBe(ROOT);
  });

  test('skips package.json files of other names on the way up, and fails clearly outside the project', () => {
    const nested = mkdtempSync(join(ROOT, '.data', 'paths-test-'));
    try {
      writeFileSync(join(nested, 'package.json'), JSON.stringify({ name: 'not-tollgate' }));
      mkdirSync(join(nested, 'deeper'));
      expect(findProjectRoot(join(nested, 'deeper'))).toBe(ROOT);
    } finally {
      rmSync(nested, { recursive: true, force: true });
    }
    const outside = mkdtempSync(join(tmpdir(), 'paths-test-'));
    try {
      expect(() => findProjectRoot(outside)).toThrow(/cannot find the project root.*"tollgate"/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('the runtime paths hang from it', () => {
    expect(DEFAULT_SUPERGRAPH_PATH).toBe(join(ROOT, 'schema', 'supergraph.graphql'));
    expect(EXPLORER_DIST).toBe(join(ROOT, '.data', 'explorer'));
    expect(DEV_SECRETS_DIR).toBe(join(ROOT, '.data', 'secrets'));
    for (const name of SUBGRAPH_NAMES) expect(existsSync(subgraphSchemaPath(name))).toBe(true);
  });
});

describe('buildBundles', () => {
  let outdir: string;
  let built: BuiltBundle[];
  const lines: string[] = [];

  function run(
    bundle: string,
    args: string[],
    env: Record<string, string>,
  ): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--enable-source-maps', join(outdir, bundle), ...args], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stdout.resume();
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  beforeAll(async () => {
    // Inside the project (git-ignored .data/): a bundle finds the project's files by walking up from itself.
    mkdirSync(join(ROOT, '.data'), { recursive: true });
    outdir = mkdtempSync(join(ROOT, '.data', 'build-test-'));
    // A probe bundled like the rest prints the paths the bundled modules resolve.
    const probe = join(outdir, 'probe.ts');
    writeFileSync(
      probe,
      [
        `import { PROJECT_ROOT } from ${JSON.stringify(join(ROOT, 'common', 'paths'))};`,
        `import { DEV_SECRETS_DIR } from ${JSON.stringify(join(ROOT, 'common', 'dev-secrets'))};`,
        `import { DEFAULT_SUPERGRAPH_PATH } from ${JSON.stringify(join(ROOT, 'gateway', 'src', 'config'))};`,
        `import { EXPLORER_DIST } from ${JSON.stringify(join(ROOT, 'gateway', 'src', 'explorer', 'bundle'))};`,
        `import { readSubgraphSdl } from ${JSON.stringify(join(ROOT, 'subgraphs', 'catalog'))};`,
        `process.stdout.write(JSON.stringify({ PROJECT_ROOT, DEV_SECRETS_DIR, DEFAULT_SUPERGRAPH_PATH, EXPLORER_DIST, sdl: readSubgraphSdl('reviews').length }));`,
      ].join('\n'),
    );
    built = await buildBundles({
      outdir,
      defaults: false,
      entries: [
        ...DEFAULT_BUNDLES.filter((b) => b.out === 'gateway' || b.out === 'subgraph'),
        { in: probe, out: 'nested/probe' },
      ],
      log: (line) => lines.push(line),
    });
  }, 60_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  test('writes one CommonJS file and its source map per entry, and one progress line each', () => {
    expect(built.map((b) => b.file).sort()).toEqual([
      join(outdir, 'gateway.js'),
      join(outdir, 'nested', 'probe.js'),
      join(outdir, 'subgraph.js'),
    ]);
    for (const bundle of built) {
      expect(existsSync(`${bundle.file}.map`)).toBe(true);
      expect(readFileSync(bundle.file, 'utf8')).toContain(`//# sourceMappingURL=`);
    }
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).toMatch(/built \.data\/build-test-\w+\/gateway\.js from gateway\/src\/main\.ts/);
    // node_modules stay requires; nothing of tsx.
    const gateway = readFileSync(join(outdir, 'gateway.js'), 'utf8');
    expect(gateway).toContain('require("@apollo/gateway")');
    expect(gateway).not.toMatch(/require\("tsx/);
  });

  test('refuses an outdir outside the project, where the bundles could not find its files', async () => {
    await expect(buildBundles({ outdir: tmpdir(), defaults: false, log: () => {} })).rejects.toThrow(
      /inside the project/,
    );
  });

  test('bundled modules resolve the same project paths as the sources', async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [join(outdir, 'nested', 'probe.js')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', (c) => resolve({ code: c, stdout: out }));
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      PROJECT_ROOT: ROOT,
      DEV_SECRETS_DIR,
      DEFAULT_SUPERGRAPH_PATH,
      EXPLORER_DIST,
      sdl: readFileSync(subgraphSchemaPath('reviews'), 'utf8').length,
    });
  });

  test('the subgraph bundle loads and refuses an unknown subgraph with the message naming the subgraphs', async () => {
    const { code, stderr } = await run('subgraph.js', ['payments'], {});
    expect(code).toBe(2);
    expect(stderr).toContain('the first argument must name a subgraph: <accounts|products|inventory|reviews>');
  });

  test('the gateway bundle loads and stops on an invalid configuration with the message naming it', async () => {
    const { code, stderr } = await run('gateway.js', [], { PORT: 'not-a-port' });
    expect(code).toBe(1);
    expect(stderr).toContain('invalid gateway configuration');
    expect(stderr).toContain('PORT must be');
    expect(stderr).not.toMatch(/ENOENT|Cannot find module/);
  });

  test('the subgraph bundle reads its schema.graphql and serves', async () => {
    const dbName = uniqueDbName('bundle');
    // The deployment's migration step: the subgraph only checks its indexes (common/indexes.ts).
    await migrateSubgraphs({ mongoUri: testMongoUri(), names: ['inventory'], dbNameFor: () => dbName });
    const child = spawn(process.execPath, ['--enable-source-maps', join(outdir, 'subgraph.js'), 'inventory'], {
      // As subgraphs/run.test.ts: jest's environment (NODE_ENV=test keeps Apollo's own signal handlers off).
      env: {
        ...process.env,
        PORT: '0',
        MONGODB_URI: testMongoUri(),
        MONGODB_DB: dbName,
        TOLLGATE_INTERNAL_KEY: randomBytes(32).toString('hex'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const seen: string[] = [];
        createInterface({ input: child.stderr! }).on('line', (line) => {
          seen.push(line);
          const record = JSON.parse(line) as Record<string, unknown>;
          if (record.msg === 'listening') resolve(record.url as string);
        });
        void exited.then((code) => reject(new Error(`the subgraph bundle exited with ${code}: ${seen.join('\n')}`)));
      });
      // Without the gateway's internal token the subgraph refuses: it is up and its guard is in place.
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
      });
      expect(res.status).toBe(401);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      const db = await openDatabase({ mongoUri: testMongoUri(), dbName });
      await db.dropDatabase();
      await db.close();
    }
  });
});
