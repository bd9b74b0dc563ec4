import { createLogger } from '../../../common/logger';
import type { SchemaBundle } from './bundle';
import { supergraphId } from './registry';
import { createSupergraphReloader, type ReloadResult } from './reloader';
import { rankSources, type SupergraphSource } from './source';
import type { CheckedSupergraph, SupergraphCheck } from './validate';

/** A check that refuses SDL starting with `bad`, and passes anything else (what passes is the validator's tests). */
function fakeCheck(sdl: string): SupergraphCheck {
  const id = supergraphId(sdl);
  if (sdl.startsWith('bad')) return { ok: false, id, reason: 'uncovered-fields', message: 'no rule covers X.y' };
  return { ok: true, supergraph: { id, sdl } as CheckedSupergraph };
}

function setup(options: { failBuild?: (sdl: string) => boolean } = {}) {
  const logs: Record<string, unknown>[] = [];
  const swapped: string[] = [];
  const results: [ReloadResult, string | undefined][] = [];
  let builds = 0;
  const reloader = createSupergraphReloader({
    initialId: supergraphId('v1'),
    check: fakeCheck,
    async build(checked) {
      builds++;
      await new Promise((resolve) => setImmediate(resolve));
      if (options.failBuild?.(checked.sdl)) throw new Error('the planner refused it');
      return { id: checked.id, sdl: checked.sdl } as SchemaBundle;
    },
    swap: (bundle) => swapped.push(bundle.sdl),
    logger: createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
    onResult: (result, { reason }) => results.push([result, reason]),
  });
  return { reloader, logs, swapped, results, builds: () => builds };
}

describe('createSupergraphReloader', () => {
  it('swaps to a supergraph that passes, and says so once', async () => {
    const { reloader, swapped, results, logs } = setup();
    await reloader.offer({ sdl: 'v2', source: 'file' });
    expect(swapped).toEqual(['v2']);
    expect(reloader.currentId()).toBe(supergraphId('v2'));
    expect(results).toEqual([['applied', undefined]]);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'supergraph switched', supergraphId: supergraphId('v2') }),
    );
  });

  it('refuses one that fails a check: logged at error with its reason, counted, the last good one kept', async () => {
    const { reloader, swapped, results, logs } = setup();
    await reloader.offer({ sdl: 'bad v2', source: 'url' });
    expect(swapped).toEqual([]);
    expect(reloader.currentId()).toBe(supergraphId('v1'));
    expect(results).toEqual([['refused', 'uncovered-fields']]);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        reason: 'uncovered-fields',
        source: 'url',
        supergraphId: supergraphId('bad v2'),
        servingId: supergraphId('v1'),
      }),
    );
  });

  it('keeps the last good one when building the new one fails', async () => {
    const { reloader, swapped, results } = setup({ failBuild: (sdl) => sdl === 'v2' });
    await reloader.offer({ sdl: 'v2', source: 'file' });
    expect(swapped).toEqual([]);
    expect(results).toEqual([['failed', undefined]]);
    expect(reloader.currentId()).toBe(supergraphId('v1'));
  });

  it('ignores the supergraph it serves already', async () => {
    const { reloader, results, builds } = setup();
    await reloader.offer({ sdl: 'v1', source: 'file' });
    expect(results).toEqual([]);
    expect(builds()).toBe(0);
  });

  it('handles one offer at a time, and of those that arrived meanwhile only the newest', async () => {
    const { reloader, swapped } = setup();
    const first = reloader.offer({ sdl: 'v2', source: 'file' });
    void reloader.offer({ sdl: 'v3', source: 'file' });
    const last = reloader.offer({ sdl: 'v4', source: 'file' });
    await Promise.all([first, last]);
    expect(swapped).toEqual(['v2', 'v4']);
    expect(reloader.currentId()).toBe(supergraphId('v4'));
  });
});

/** A source whose SDL the test sets. */
function manualSource(name: string, initial: string | undefined) {
  let notify: (sdl: string) => void = () => undefined;
  const source: SupergraphSource = {
    name,
    async start(onChange) {
      notify = onChange;
      return initial;
    },
    close: async () => undefined,
  };
  return { source, change: (sdl: string) => notify(sdl) };
}

describe('rankSources', () => {
  const logger = createLogger({ sink: () => undefined });

  it('serves the highest-ranked source that has a supergraph, and follows it', async () => {
    const controlPlane = manualSource('control-plane', undefined);
    const file = manualSource('file', 'file v1');
    const seen: string[] = [];
    const ranked = rankSources([controlPlane.source, file.source], logger);
    expect(await ranked.start((s) => seen.push(`${s.source}:${s.sdl}`))).toEqual([{ sdl: 'file v1', source: 'file' }]);
    file.change('file v2');
    controlPlane.change('published v1');
    // The file no longer decides once something is published.
    file.change('file v3');
    expect(seen).toEqual(['file:file v2', 'control-plane:published v1']);
  });

  it('starts on the published supergraph when there is one', async () => {
    const ranked = rankSources(
      [manualSource('control-plane', 'published').source, manualSource('file', 'file').source],
      logger,
    );
    // The lower-ranked one is what a gateway starts on if it refuses the published one (served.ts).
    expect(await ranked.start(() => undefined)).toEqual([
      { sdl: 'published', source: 'control-plane' },
      { sdl: 'file', source: 'file' },
    ]);
  });

  it('refuses to start when no source has a supergraph', async () => {
    const ranked = rankSources([manualSource('control-plane', undefined).source], logger);
    await expect(ranked.start(() => undefined)).rejects.toThrow('no supergraph source has a supergraph');
  });
});
