import { createLogger } from '../../../common/logger';
import { createCircuitBreaker, createSubgraphBreakers, type BreakerState } from './circuit-breaker';

function setup(failureThreshold = 3, coolDownMs = 1_000) {
  let clock = 0;
  const changes: [BreakerState, BreakerState][] = [];
  const breaker = createCircuitBreaker({
    failureThreshold,
    coolDownMs,
    now: () => clock,
    onStateChange: (to, from) => changes.push([from, to]),
  });
  const fail = (times: number) => {
    for (let i = 0; i < times; i++) {
      const permit = breaker.tryAcquire();
      if (!permit) throw new Error('refused');
      permit.failure();
    }
  };
  return { breaker, changes, fail, advance: (ms: number) => (clock += ms) };
}

describe('createCircuitBreaker', () => {
  it('stays closed below the threshold and opens on the threshold-th consecutive failure', () => {
    const { breaker, changes, fail } = setup(3);
    fail(2);
    expect(breaker.state()).toBe('closed');
    fail(1);
    expect(breaker.state()).toBe('open');
    expect(changes).toEqual([['closed', 'open']]);
    expect(breaker.tryAcquire()).toBeUndefined();
  });

  it('counts consecutive failures only: a success starts the count again', () => {
    const { breaker, fail } = setup(3);
    fail(2);
    breaker.tryAcquire()?.success();
    fail(2);
    expect(breaker.state()).toBe('closed');
    fail(1);
    expect(breaker.state()).toBe('open');
  });

  it('neither counts nor resets on a released permit', () => {
    const { breaker, fail } = setup(3);
    fail(2);
    breaker.tryAcquire()?.release();
    expect(breaker.state()).toBe('closed');
    fail(1);
    expect(breaker.state()).toBe('open');
  });

  it('refuses until the cool-down has passed, then lets exactly one probe through', () => {
    const { breaker, fail, advance } = setup(1, 1_000);
    fail(1);
    advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    advance(1);
    const probe = breaker.tryAcquire();
    expect(probe).toBeDefined();
    expect(breaker.state()).toBe('half-open');
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.tryAcquire()).toBeUndefined();
  });

  it('closes when the probe succeeds', () => {
    const { breaker, changes, fail, advance } = setup(2, 1_000);
    fail(2);
    advance(1_000);
    breaker.tryAcquire()?.success();
    expect(breaker.state()).toBe('closed');
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
    // Closed again with a fresh count: one failure does not reopen a threshold of two.
    fail(1);
    expect(breaker.state()).toBe('closed');
  });

  it('reopens for a full cool-down when the probe fails', () => {
    const { breaker, changes, fail, advance } = setup(5, 1_000);
    fail(5);
    advance(1_500);
    breaker.tryAcquire()?.failure();
    expect(breaker.state()).toBe('open');
    expect(changes.at(-1)).toEqual(['half-open', 'open']);
    advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    advance(1);
    expect(breaker.tryAcquire()).toBeDefined();
  });

  it('lets the next request probe when the probe ends without a verdict', () => {
    const { breaker, fail, advance } = setup(1, 10);
    fail(1);
    advance(10);
    breaker.tryAcquire()?.release();
    expect(breaker.state()).toBe('half-open');
    const next = breaker.tryAcquire();
    expect(next).toBeDefined();
    next?.success();
    expect(breaker.state()).toBe('closed');
  });

  it('ignores outcomes of requests sent before the last transition', () => {
    const { breaker, fail, advance } = setup(2, 1_000);
    // Three requests in flight against a subgraph that hangs.
    const inFlight = [breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()];
    inFlight[0]?.failure();
    inFlight[1]?.failure();
    expect(breaker.state()).toBe('open');
    // The third times out after the breaker opened: no effect on the open breaker's clock or on a probe.
    advance(1_000);
    const probe = breaker.tryAcquire();
    inFlight[2]?.failure();
    expect(breaker.state()).toBe('half-open');
    probe?.success();
    expect(breaker.state()).toBe('closed');
    // A stale success cannot close an open breaker either.
    const late = breaker.tryAcquire();
    fail(2);
    late?.success();
    expect(breaker.state()).toBe('open');
  });

  it('takes one outcome per permit', () => {
    const { breaker } = setup(2);
    const permit = breaker.tryAcquire();
    permit?.failure();
    permit?.failure();
    expect(breaker.state()).toBe('closed');
    permit?.release();
    breaker.tryAcquire()?.failure();
    expect(breaker.state()).toBe('open');
  });

  it('refuses a threshold below one', () => {
    expect(() => createCircuitBreaker({ failureThreshold: 0, coolDownMs: 10 })).toThrow('failureThreshold');
  });
});

describe('createSubgraphBreakers', () => {
  it('keeps one breaker per subgraph, reports their states, and logs each transition with its subgraph', () => {
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'debug',
      sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    });
    let clock = 0;
    const breakers = createSubgraphBreakers({ failureThreshold: 1, coolDownMs: 100, logger, now: () => clock });
    expect(breakers.of('inventory')).toBe(breakers.of('inventory'));
    breakers.of('products').tryAcquire()?.success();
    breakers.of('inventory').tryAcquire()?.failure();
    expect(breakers.states()).toEqual({ inventory: 'open', products: 'closed' });
    clock = 100;
    breakers.of('inventory').tryAcquire()?.success();
    expect(
      logs.map(({ level, component, subgraph, state, from }) => ({ level, component, subgraph, state, from })),
    ).toEqual([
      { level: 'warn', component: 'circuit-breaker', subgraph: 'inventory', state: 'open', from: 'closed' },
      { level: 'info', component: 'circuit-breaker', subgraph: 'inventory', state: 'half-open', from: 'open' },
      { level: 'info', component: 'circuit-breaker', subgraph: 'inventory', state: 'closed', from: 'half-open' },
    ]);
  });
});
