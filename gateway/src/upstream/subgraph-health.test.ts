import { createLogger } from '../../../common/logger';
import { createSubgraphHealthMonitor } from './subgraph-health';

function setup() {
  const down = new Set<string>();
  const lines: Record<string, unknown>[] = [];
  let probes = 0;
  const monitor = createSubgraphHealthMonitor({
    subgraphs: () => ['accounts', 'products'],
    probe: async (name) => {
      probes++;
      if (down.has(name)) throw new Error('ECONNREFUSED');
    },
    breakerStates: () => ({ products: 'open' }),
    logger: createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
    intervalMs: 0,
  });
  const transitions = () => lines.map(({ level, subgraph, state, from }) => ({ level, subgraph, state, from }));
  return { monitor, down, transitions, probes: () => probes };
}

describe('subgraph health monitor', () => {
  it('reports each subgraph and the breakers, and logs nothing while all is well', async () => {
    const { monitor, transitions } = setup();
    expect(await monitor.check()).toEqual({
      subgraphs: { accounts: 'up', products: 'up' },
      breakers: { products: 'open' },
    });
    expect(transitions()).toEqual([]);
  });

  it('logs a subgraph going down at warn once, and coming back at info', async () => {
    const { monitor, down, transitions } = setup();
    await monitor.check();
    down.add('products');
    expect((await monitor.check()).subgraphs).toEqual({ accounts: 'up', products: 'down' });
    await monitor.check();
    down.clear();
    await monitor.check();
    expect(transitions()).toEqual([
      { level: 'warn', subgraph: 'products', state: 'down', from: 'up' },
      { level: 'info', subgraph: 'products', state: 'up', from: 'down' },
    ]);
  });

  it('lets concurrent checks share one round of probes', async () => {
    const { monitor, probes } = setup();
    await Promise.all([monitor.check(), monitor.check(), monitor.check()]);
    expect(probes()).toBe(2);
  });
});
