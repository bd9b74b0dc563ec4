import { createReadinessCheck, type ReadinessOptions } from './health';

function setup(overrides: Partial<ReadinessOptions> = {}) {
  let now = 0;
  const probes: string[] = [];
  const down = new Set<string>();
  const check = createReadinessCheck({
    supergraphLoaded: () => true,
    subgraphs: () => ['products', 'accounts', 'inventory'],
    probe: async (name) => {
      probes.push(name);
      if (down.has(name)) throw new Error('ECONNREFUSED');
    },
    now: () => now,
    ...overrides,
  });
  return { check, probes, down, advance: (ms: number) => (now += ms) };
}

describe('readiness', () => {
  it('is ready when the supergraph is loaded and every subgraph answers', async () => {
    const { check } = setup();
    expect(await check()).toEqual({ ready: true, supergraphLoaded: true, down: [] });
  });

  it('names the subgraphs that are down, sorted', async () => {
    const { check, down } = setup();
    down.add('products');
    down.add('inventory');
    expect(await check()).toEqual({ ready: false, supergraphLoaded: true, down: ['inventory', 'products'] });
  });

  it('is not ready before the supergraph is loaded, and probes nothing', async () => {
    const { check, probes } = setup({ supergraphLoaded: () => false });
    expect(await check()).toEqual({ ready: false, supergraphLoaded: false, down: [] });
    expect(probes).toEqual([]);
  });

  it('reuses a result for two seconds, then checks again', async () => {
    const { check, probes, down, advance } = setup();
    await check();
    down.add('accounts');
    advance(1_999);
    expect((await check()).ready).toBe(true);
    expect(probes).toHaveLength(3);
    advance(1);
    expect(await check()).toMatchObject({ ready: false, down: ['accounts'] });
    expect(probes).toHaveLength(6);
  });

  it('lets concurrent polls share one check', async () => {
    const { check, probes } = setup();
    const results = await Promise.all([check(), check(), check()]);
    expect(results.every((r) => r.ready)).toBe(true);
    expect(probes).toHaveLength(3);
  });
});
