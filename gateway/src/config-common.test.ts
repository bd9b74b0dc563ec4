/** The settings the CLI and the scripts share with the gateway: one default each, the same validation. */
import { CommonConfigError, DEFAULT_REDIS_URL, loadCommonConfig } from './config-common';
import { GatewayConfigError, loadGatewayConfig } from './config';

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof CommonConfigError || error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadCommonConfig', () => {
  it('has the defaults the gateway has', () => {
    const common = loadCommonConfig({});
    const gateway = loadGatewayConfig({});
    expect(common).toEqual({
      controlPlane: gateway.controlPlane,
      redisUrl: gateway.redisUrl,
      supergraphPath: gateway.supergraphPath,
    });
    expect(common.redisUrl).toBe(DEFAULT_REDIS_URL);
  });

  it('reads what the gateway reads', () => {
    const env = {
      MONGODB_URI: 'mongodb://db:27017/?replicaSet=rs0',
      CONTROL_DB: 'control_eu',
      REDIS_URL: 'rediss://cache:6380/0',
      SUPERGRAPH_PATH: 'schema/other.graphql',
    };
    const gateway = loadGatewayConfig(env);
    expect(loadCommonConfig(env)).toEqual({
      controlPlane: gateway.controlPlane,
      redisUrl: gateway.redisUrl,
      supergraphPath: gateway.supergraphPath,
    });
  });

  it('refuses what the gateway refuses, with the same words and without echoing a URI', () => {
    const env = {
      MONGODB_URI: 'postgres://admin:hunter2@db/tenants',
      CONTROL_DB: 'control.plane',
      REDIS_URL: 'http://cache:6379',
    };
    const common = problemsOf(() => loadCommonConfig(env));
    expect(common).toEqual([
      'MONGODB_URI must be a mongodb: or mongodb+srv: URI',
      'CONTROL_DB must be 1–63 letters, digits, "_" or "-"',
      'REDIS_URL must be a redis:, rediss:, redis+sentinel:, rediss+sentinel:, redis+cluster: or rediss+cluster: URL',
    ]);
    expect(problemsOf(() => loadGatewayConfig(env))).toEqual(expect.arrayContaining(common));
    expect(() => loadCommonConfig(env)).toThrow(/^invalid configuration:/);
    expect(common.join('\n')).not.toContain('hunter2');
  });

  it('requires MONGODB_URI in production, as the gateway does', () => {
    expect(problemsOf(() => loadCommonConfig({ NODE_ENV: 'production' }))).toEqual([
      'MONGODB_URI is required when NODE_ENV=production',
    ]);
  });
});
