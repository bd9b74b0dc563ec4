/** The watched-file source on the real file system: the ways deployments replace a file. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger } from '../../../common/logger';
import { createFileSource } from './file-source';
import type { SupergraphSource } from './source';

describe('the SUPERGRAPH_PATH source', () => {
  let dir: string;
  let source: SupergraphSource | undefined;
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-file-source-'));
    logs.length = 0;
  });
  afterEach(async () => {
    await source?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const until = async (what: string, condition: () => boolean) => {
    for (const deadline = Date.now() + 10_000; !condition(); await delay(20)) {
      if (Date.now() > deadline) throw new Error(`never: ${what}`);
    }
  };

  it.each([
    ['watch events only', { pollMs: 0 }],
    ['the poll only, as where watch events are lost', { pollMs: 100, watch: false }],
  ])('sees a file written in place and one renamed over it (%s)', async (_, mode) => {
    const path = join(dir, 'supergraph.graphql');
    writeFileSync(path, 'v1');
    const changes: string[] = [];
    source = createFileSource({ path, ...mode, debounceMs: 20, logger });
    expect(await source.start((sdl) => changes.push(sdl))).toBe('v1');
    writeFileSync(path, 'v2');
    await until('v2', () => changes.includes('v2'));
    writeFileSync(join(dir, 'next'), 'v3');
    renameSync(join(dir, 'next'), path);
    await until('v3', () => changes.includes('v3'));
    // The same text written again is no change.
    writeFileSync(path, 'v3');
    writeFileSync(join(dir, 'unrelated.txt'), 'x');
    await delay(300);
    expect(changes).toEqual(['v2', 'v3']);
  });

  it("follows a Kubernetes ConfigMap's symlink swap", async () => {
    // What the kubelet does: path -> ..data/supergraph.graphql, ..data -> a timestamped directory, swapped atomically.
    const version = (name: string, sdl: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'supergraph.graphql'), sdl);
    };
    version('..2026_01', 'v1');
    symlinkSync('..2026_01', join(dir, '..data'));
    symlinkSync(join('..data', 'supergraph.graphql'), join(dir, 'supergraph.graphql'));
    const changes: string[] = [];
    source = createFileSource({ path: join(dir, 'supergraph.graphql'), pollMs: 0, debounceMs: 20, logger });
    expect(await source.start((sdl) => changes.push(sdl))).toBe('v1');
    version('..2026_02', 'v2');
    symlinkSync('..2026_02', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await until('v2', () => changes.includes('v2'));
  });

  it('keeps the last supergraph while the file is missing, says so once, and picks up its return', async () => {
    const path = join(dir, 'supergraph.graphql');
    writeFileSync(path, 'v1');
    const changes: string[] = [];
    source = createFileSource({ path, pollMs: 50, debounceMs: 20, logger });
    await source.start((sdl) => changes.push(sdl));
    rmSync(path);
    await until('a warning', () => logs.some((l) => l.level === 'warn'));
    await delay(200);
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(1);
    writeFileSync(path, 'v2');
    await until('v2', () => changes.includes('v2'));
    expect(changes).toEqual(['v2']);
  });

  it('refuses to start on a missing file', async () => {
    source = createFileSource({ path: join(dir, 'missing.graphql'), pollMs: 0, logger });
    await expect(source.start(() => undefined)).rejects.toThrow(/ENOENT/);
  });
});
