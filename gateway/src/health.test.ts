import { createReadinessCheck, type ReadinessOptions } from './health';

function setup(overrides: Partial<ReadinessOptions> = {}) {
  let now = 0;
  let pings = 0;
  const state = { controlPlaneUp: true, warm: false, draining: false };
  const check = createReadinessCheck({
    supergraphLoaded: () => true,
    draining: () => state.draining,
    pingControlPlane: async () => {
      pings++;
      if (!state.controlPlaneUp) throw new Error('ECONNREFUSED');
    },
    directoryWarm: () => state.warm,
    now: () => now,
    ...overrides,
  });
  return { check, state, pings: () => pings, advance: (ms: number) => (now += ms) };
}

describe('readiness', () => {
  it('is ready when the supergraph is loaded and the control plane answers', async () => {
    const { check } = setup();
    expect(await check()).toEqual({ ready: true });
  });

  it('is not ready before the supergraph is loaded, and pings nothing', async () => {
    const { check, pings } = setup({ supergraphLoaded: () => false });
    expect(await check()).toEqual({ ready: false, reason: 'supergraph-not-loaded' });
    expect(pings()).toBe(0);
  });

  it('stays ready while the control plane is down if the tenant directory is warm, and not if it is cold', async () => {
    const { check, state } = setup();
    state.controlPlaneUp = false;
    expect(await check()).toEqual({ ready: false, reason: 'control-plane-unavailable' });
    const warm = setup();
    warm.state.controlPlaneUp = false;
    warm.state.warm = true;
    expect(await warm.check()).toEqual({ ready: true });
  });

  it('fails at once when draining, even with a cached good result', async () => {
    const { check, state } = setup();
    expect((await check()).ready).toBe(true);
    state.draining = true;
    expect(await check()).toEqual({ ready: false, reason: 'draining' });
  });

  it('reuses a control-plane result for two seconds, then pings again', async () => {
    const { check, pings, state, advance } = setup();
    await check();
    state.controlPlaneUp = false;
    advance(1_999);
    expect((await check()).ready).toBe(true);
    expect(pings()).toBe(1);
    advance(1);
    expect(await check()).toEqual({ ready: false, reason: 'control-plane-unavailable' });
    expect(pings()).toBe(2);
  });

  it('lets concurrent polls share one ping', async () => {
    const { check, pings } = setup();
    const results = await Promise.all([check(), check(), check()]);
    expect(results.every((r) => r.ready)).toBe(true);
    expect(pings()).toBe(1);
  });
});
