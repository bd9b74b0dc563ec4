import { createLogger } from '../../../common/logger';
import { createKeyIdIndex, type KeyIdIndex, type KeyIdSource } from './key-id-index';

const T0 = 1_700_000_000_000;

class FakeSource implements KeyIdSource {
  readonly rows: { id: string; createdAt: Date }[] = [];
  calls: (Date | undefined)[] = [];
  failing = false;
  hang: Promise<void> | undefined;

  async listKeyIds(createdSince?: Date) {
    this.calls.push(createdSince);
    if (this.hang) await this.hang;
    if (this.failing) throw new Error('connection refused');
    return this.rows
      .filter((row) => createdSince === undefined || row.createdAt >= createdSince)
      .map((row) => ({ ...row }));
  }
}

describe('API key id index', () => {
  let source: FakeSource;
  let now: number;
  let index: KeyIdIndex;
  const warnings: string[] = [];

  beforeEach(() => {
    source = new FakeSource();
    source.rows.push({ id: 'aaaaaaaaaaa1', createdAt: new Date(T0 - 5_000) });
    now = T0;
    warnings.length = 0;
    index = createKeyIdIndex({
      source,
      logger: createLogger({ level: 'warn', sink: (line) => warnings.push((JSON.parse(line) as { msg: string }).msg) }),
      refreshMs: 60_000,
      fullReloadMs: 300_000,
      loadTimeoutMs: 50,
      clockSkewMs: 1_000,
      now: () => now,
    });
  });

  afterEach(() => index.close());

  it('excludes nothing before it is loaded, then exactly the ids it does not hold', async () => {
    expect(index.loaded).toBe(false);
    expect(index.excludes('zzzzzzzzzzzz')).toBe(false);
    await index.start();
    expect(index.loaded).toBe(true);
    expect(index.excludes('aaaaaaaaaaa1')).toBe(false);
    expect(index.excludes('zzzzzzzzzzzz')).toBe(true);
    expect(source.calls).toEqual([undefined]);
  });

  it('adds an announced key at once, without a read', async () => {
    await index.start();
    index.applyChange({ kind: 'apiKey', id: 'bbbbbbbbbbb2' });
    index.applyChange({ kind: 'tenant', id: 'cccccccccc3' });
    expect(index.excludes('bbbbbbbbbbb2')).toBe(false);
    expect(index.excludes('cccccccccc3')).toBe(true);
    expect(source.calls).toHaveLength(1);
  });

  it('picks up keys created since the newest it saw, reaching back by the clock-skew margin', async () => {
    await index.start();
    source.rows.push({ id: 'bbbbbbbbbbb2', createdAt: new Date(T0 + 1_000) });
    now += 60_000;
    await index.refresh();
    expect(source.calls[1]).toEqual(new Date(T0 - 5_000 - 1_000));
    expect(index.excludes('bbbbbbbbbbb2')).toBe(false);
    // A key written by a writer whose clock is behind, within the margin, is still found.
    source.rows.push({ id: 'ccccccccccc3', createdAt: new Date(T0 + 500) });
    await index.refresh();
    expect(source.calls[2]).toEqual(new Date(T0 + 1_000 - 1_000));
    expect(index.excludes('ccccccccccc3')).toBe(false);
  });

  it('reloads everything when a full reload is due, forgetting ids that are gone', async () => {
    await index.start();
    source.rows.length = 0;
    source.rows.push({ id: 'bbbbbbbbbbb2', createdAt: new Date(T0 - 10 * 60_000) });
    now += 299_999;
    await index.refresh();
    expect(index.excludes('aaaaaaaaaaa1')).toBe(false);
    // Created "long ago" by its writer's clock: outside the incremental read, found by the full reload.
    expect(index.excludes('bbbbbbbbbbb2')).toBe(true);
    now += 1;
    await index.refresh();
    expect(source.calls.at(-1)).toBeUndefined();
    expect(index.excludes('aaaaaaaaaaa1')).toBe(true);
    expect(index.excludes('bbbbbbbbbbb2')).toBe(false);
  });

  it('keeps an id announced while a full reload was under way', async () => {
    let release: () => void = () => undefined;
    source.hang = new Promise((resolve) => (release = resolve));
    const started = index.start();
    index.applyChange({ kind: 'apiKey', id: 'bbbbbbbbbbb2' });
    release();
    source.hang = undefined;
    await started;
    expect(index.excludes('bbbbbbbbbbb2')).toBe(false);
  });

  it('answers "not excluded" while the control plane cannot be read at start, and loads when it can', async () => {
    source.failing = true;
    await index.start();
    expect(index.loaded).toBe(false);
    expect(index.excludes('zzzzzzzzzzzz')).toBe(false);
    expect(warnings).toEqual(['API key index could not be loaded; API keys are read from the control plane']);
    source.failing = false;
    await index.refresh();
    expect(index.excludes('zzzzzzzzzzzz')).toBe(true);
  });

  it('keeps what it has when a refresh fails or hangs, and logs once per outage', async () => {
    await index.start();
    source.hang = new Promise(() => undefined);
    await index.refresh();
    source.hang = undefined;
    source.failing = true;
    await index.refresh();
    expect(index.excludes('aaaaaaaaaaa1')).toBe(false);
    expect(index.excludes('zzzzzzzzzzzz')).toBe(true);
    expect(warnings).toEqual(['API key index could not be refreshed; serving the ids it has']);
  });

  it('refreshes on resync and never runs two refreshes at once', async () => {
    await index.start();
    index.resync();
    index.resync();
    await index.refresh();
    expect(source.calls).toHaveLength(2);
  });
});
