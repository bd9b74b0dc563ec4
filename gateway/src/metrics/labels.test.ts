import {
  METHOD_LABELS,
  NO_TENANT,
  OTHER_TENANT,
  ROUTE_LABELS,
  createTenantLabels,
  methodIndex,
  methodLabel,
  routeIndex,
  routeLabel,
} from './labels';

describe('tenant labels', () => {
  it('labels registered tenants by id, up to the bound, and the rest other', () => {
    const labels = createTenantLabels({ maxTenants: 2 });
    expect(labels.of('acme')).toBe('acme');
    expect(labels.of('globex')).toBe('globex');
    expect(labels.of('initech')).toBe(OTHER_TENANT);
    // The first two keep their labels after the bound is reached.
    expect(labels.of('acme')).toBe('acme');
    expect(labels.size()).toBe(2);
  });

  it('gives an unknown tenant no label of its own, however many are made up', () => {
    const labels = createTenantLabels({ maxTenants: 100 });
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i += 1) seen.add(labels.of(undefined, `invented-${i}`));
    expect([...seen]).toEqual([OTHER_TENANT]);
    expect(labels.size()).toBe(0);
  });

  it('labels a request without a tenant none', () => {
    expect(createTenantLabels({ maxTenants: 5 }).of(undefined)).toBe(NO_TENANT);
  });

  it('never lets a tenant named like a reserved label take it', () => {
    const labels = createTenantLabels({ maxTenants: 5 });
    expect(labels.of('none')).toBe(OTHER_TENANT);
    expect(labels.of('other')).toBe(OTHER_TENANT);
    expect(labels.size()).toBe(0);
  });

  it('with a bound of 0 labels every tenant other', () => {
    expect(createTenantLabels({ maxTenants: 0 }).of('acme')).toBe(OTHER_TENANT);
  });

  it('refuses a bound that is not a non-negative integer', () => {
    expect(() => createTenantLabels({ maxTenants: -1 })).toThrow();
    expect(() => createTenantLabels({ maxTenants: 1.5 })).toThrow();
  });
});

describe('route and method labels', () => {
  it('keeps the known routes and folds the rest', () => {
    expect(routeLabel('/graphql')).toBe('/graphql');
    expect(routeLabel('/explorer/assets/app.js')).toBe('/explorer');
    expect(routeLabel('/wp-admin/x.php')).toBe('other');
    expect(routeLabel('/graphql/')).toBe('other');
  });

  it('folds unknown methods into _OTHER', () => {
    expect(methodLabel('POST')).toBe('POST');
    expect(methodLabel('PROPFIND')).toBe('_OTHER');
  });

  it('gives each label one index, which names it back', () => {
    const paths = ['/graphql', '/healthz', '/readyz', '/schema.graphql', '/explorer', '/explorer/x', '/', '/other'];
    expect(paths.map((path) => ROUTE_LABELS[routeIndex(path)])).toEqual([
      '/graphql',
      '/healthz',
      '/readyz',
      '/schema.graphql',
      '/explorer',
      '/explorer',
      'other',
      'other',
    ]);
    expect(new Set(paths.map(routeIndex)).size).toBe(ROUTE_LABELS.length);
    const methods = ['GET', 'POST', 'OPTIONS', 'HEAD', 'DELETE', 'get'];
    expect(methods.map((method) => METHOD_LABELS[methodIndex(method)])).toEqual([
      'GET',
      'POST',
      'OPTIONS',
      'HEAD',
      '_OTHER',
      '_OTHER',
    ]);
    expect(new Set(methods.map(methodIndex)).size).toBe(METHOD_LABELS.length);
  });
});
