/**
 * The README's partner walkthroughs ("Persisted operations" and "Partner API keys: issuing and rotating") run as written: their
 * shell blocks are taken from README.md and run, in order, one bash session a section (variables carry from step to step,
 * as when a reader pastes them) against the real platform — the four subgraphs with the demo data, the control
 * plane seeded as `npm start` seeds it, Redis, and the gateway. Only the environment is substituted: the gateway's
 * address for `localhost:4000`, and MONGODB_URI / CONTROL_DB / REDIS_URL for the CLI. A renamed flag, a changed
 * output, a step that no longer works fails here.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRealPlatform, type RealPlatform } from './e2e/platform';

const ROOT = join(__dirname, '..');
const SECTION = '## Persisted operations';
const KEYS_SECTION = '## Partner API keys: issuing and rotating';
/** What the README's commands are written against: `npm start`'s gateway. */
const README_GATEWAY = 'localhost:4000';

/** The ```sh blocks of one `## ` section of README.md, dedented, in order. */
export function shellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README.md has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^( *)```sh\n([\s\S]*?)^\1```$/gm)].map(([, indent = '', body = '']) =>
    body
      .split('\n')
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n'),
  );
}

const MARKER = (n: number) => `::readme-block-${n}::`;

interface SectionRun {
  blocks: string[];
  /** Each block's standard output, for the blocks that ran to the end. */
  outputs: string[];
  status: number | null;
  stderr: string;
}

/**
 * Runs a section's blocks in one bash session: each block, then a marker, so each block's output can be told apart;
 * -e stops at the first failing command (an assignment from a failing `$(…)` included), pipefail at a failing pipe
 * stage. Asynchronously: the gateway answering the script's curl runs in this process.
 */
async function runSection(platform: RealPlatform, heading: string): Promise<SectionRun> {
  const blocks = shellBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), heading);
  const address = new URL(platform.gateway.url).host;
  const script = [
    'set -euo pipefail',
    ...blocks.flatMap((block, n) => [block.split(README_GATEWAY).join(address), `echo '${MARKER(n)}'`]),
  ].join('\n');
  const result = await runBash(script, {
    ...process.env,
    MONGODB_URI: process.env.TEST_MONGODB_URI ?? '',
    CONTROL_DB: platform.controlDbName,
    REDIS_URL: process.env.TEST_REDIS_URL ?? '',
    NODE_ENV: 'development',
  });
  const outputs: string[] = [];
  let rest = result.stdout;
  for (let n = 0; n < blocks.length; n += 1) {
    const at = rest.indexOf(`${MARKER(n)}\n`);
    if (at === -1) break;
    outputs.push(rest.slice(0, at));
    rest = rest.slice(at + MARKER(n).length + 1);
  }
  return { blocks, outputs, status: result.status, stderr: result.stderr };
}

/** The command each block is about: `tollgate <group> <action>` or the path curl calls; others are set-up lines. */
const stepsOf = (blocks: string[]) =>
  blocks.map((block) =>
    block
      .match(/tollgate -- (\S+ \S+)|curl -s \S+?(\/[\w-]+)/)
      ?.slice(1)
      .find(Boolean),
  );

const completed = (run: SectionRun) => ({
  status: run.status,
  completed: run.outputs.length,
  stderr: run.status === 0 ? '' : run.stderr,
});

let platform: RealPlatform;

beforeAll(async () => {
  platform = await startRealPlatform();
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('the README partner walkthrough (Persisted operations)', () => {
  let run: SectionRun;
  let outputs: string[];

  beforeAll(async () => {
    run = await runSection(platform, SECTION);
    outputs = run.outputs;
  }, 240_000);

  it('has the steps this test knows: publish, key, call, list', () => {
    expect(stepsOf(run.blocks)).toEqual(['manifest publish', 'key create', '/graphql', '/persisted-operations']);
  });

  it('runs every block to the end, exit 0', () => {
    expect(completed(run)).toEqual({ status: 0, completed: run.blocks.length, stderr: '' });
  });

  it('publishes the manifest as the next version', () => {
    expect(outputs[0]).toMatch(/acme-partner/);
    expect(outputs[0]).toMatch(/version 2|v2\b/);
  });

  it('runs the stock operation by id for a product the catalog page returned', () => {
    const answer = JSON.parse(outputs[2] ?? '') as {
      data?: { product?: { id: string; sku: string; inStock: boolean; quantity: number } };
      errors?: unknown;
    };
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.product).toEqual({
      id: expect.any(String),
      sku: expect.any(String),
      inStock: expect.any(Boolean),
      quantity: expect.any(Number),
    });
  });

  it("lists the operations of the key's manifest", () => {
    const manifest = JSON.parse(
      readFileSync(join(ROOT, 'schema/operations/acme-partner/generated/manifest.json'), 'utf8'),
    ) as { operations: { id: string; name: string; type: string }[] };
    const list = JSON.parse(outputs[3] ?? '') as { tenant: string; manifest: string; operations: unknown[] };
    expect(list).toMatchObject({ tenant: 'acme', manifest: 'acme-partner', version: 2 });
    expect(list.operations).toEqual(
      expect.arrayContaining(manifest.operations.map(({ id, name, type }) => ({ id, name, type }))),
    );
    expect(list.operations).toHaveLength(manifest.operations.length);
  });
});

describe('the README partner key walkthrough (Partner API keys: issuing and rotating)', () => {
  let run: SectionRun;

  beforeAll(async () => {
    run = await runSection(platform, KEYS_SECTION);
  }, 240_000);

  it('has the steps this test knows: create, call, rotate, revoke', () => {
    expect(stepsOf(run.blocks)).toEqual(['key create', '/graphql', 'key rotate', 'key revoke']);
  });

  it('runs every block to the end, exit 0', () => {
    expect(completed(run)).toEqual({ status: 0, completed: run.blocks.length, stderr: '' });
  });

  it("runs the catalog page with the issued key, on the demo tenant's data", () => {
    const answer = JSON.parse(run.outputs[1] ?? '') as {
      data?: { products?: { edges: { node: { id: string } }[] } };
      errors?: unknown;
    };
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.products?.edges.length).toBeGreaterThan(0);
  });

  it('revokes the replacement key by the id taken from the key', () => {
    expect(run.outputs[3]).toMatch(/^Revoked key [A-Za-z0-9]+ of tenant acme\.\n$/);
  });
});

function runBash(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
