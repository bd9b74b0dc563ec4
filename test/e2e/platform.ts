/**
 * The real platform in one test process: the four real subgraphs on the embedded FerretDB (fresh databases, the
 * demo tenants seeded through the subgraphs' own models), a control plane, Redis, and the gateway with every
 * stage on and Tollgate's own supergraph and rules — all over real HTTP on ephemeral ports.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tracing } from '../../common/tracing/setup';
import mongoose from 'mongoose';
import { userIdFor, type Role } from '../../common/ids';
import { deriveSubgraphKey } from '../../common/internal-token';
import { createLogger, type Logger } from '../../common/logger';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../subgraphs/catalog';
import { startNamedSubgraph } from '../../subgraphs/definitions';
import type { RunningSubgraph } from '../../subgraphs/kit/server';
import { seedDemoTenants } from '../../demo/subgraph-data';
import { readEncryptionSettings } from '../../common/master-key';
import { encryptionOptionsOf } from '../../subgraphs/kit/encryption';
import { DEFAULT_SUPERGRAPH_PATH, type AuditConfig, type GatewayConfig } from '../../gateway/src/config';
import { startGateway, type StartedGateway } from '../../gateway/src/server';
import { seedControlPlane } from '../../demo/control-plane';
import { openControlPlane, type ControlPlane } from '../../gateway/src/control-plane/open';
import { createTestIssuer, type TestIssuer } from '../../gateway/src/testing/jwt';
import { TEST_REDIS_TIMEOUT_MS, writeTrustedIssuersFile } from '../../gateway/src/testing/platform';
import { registerTestSecrets } from '../support/log-capture';

export interface GraphQLResult {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, unknown>;
  };
  text: string;
}

export interface RealPlatform {
  gateway: StartedGateway;
  /** The trusted test issuer, for tokens `token` does not make (another principal, say). */
  issuer: TestIssuer;
  subgraphs: Record<SubgraphName, RunningSubgraph>;
  /** The gateway's configuration: another gateway started with it is a replica of this one. */
  config: GatewayConfig;
  /** The control plane's database (on TEST_MONGODB_URI), for the CLI's CONTROL_DB. */
  controlDbName: string;
  /** The database of each subgraph (`control`: the control plane's); a silo tenant's are named after these. */
  dbNameFor(name: SubgraphName | 'control'): string;
  /** Every database of this platform (subgraphs and control plane), for tests that scan them all. */
  dbNames: string[];
  /** The gateway's internal secret: the CLI's TOLLGATE_INTERNAL_SECRET for platform calls. */
  internalSecret: Buffer;
  /** A token for the demo user `<role>@<tenant>.test` holding `roles`. */
  token(tenant: string, role: 'admin' | 'staff' | 'customer', roles?: Role[]): Promise<string>;
  graphql(token: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResult>;
  stop(): Promise<void>;
}

export const SUBGRAPH_TIMEOUT_MS = 1_500;

export interface RealPlatformOptions {
  /** Where a subgraph reaches its database (a test proxy, say); TEST_MONGODB_URI otherwise. Seeding uses the latter. */
  mongoUriFor?: (name: SubgraphName) => string;
  /** Changes the seeded control plane (tenant modes, plan limits) before the gateway starts. */
  prepareControlPlane?: (controlPlane: ControlPlane) => Promise<void>;
  /** The gateway's logger (its request lines, say); a silent one otherwise. */
  logger?: Logger;
  /** Settings laid over the platform's gateway configuration (`explorerEnabled`, say). */
  gateway?: Partial<GatewayConfig>;
  /** Tracing registered by the test (common/tracing/setup.ts), handed to the gateway and every subgraph. */
  tracing?: Tracing;
}

export async function startRealPlatform(options: RealPlatformOptions = {}): Promise<RealPlatform> {
  const mongoUri = process.env.TEST_MONGODB_URI;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!mongoUri || !redisUrl) throw new Error('TEST_MONGODB_URI and TEST_REDIS_URL are set by test/global-setup.ts');
  const prefix = `e2e_${randomBytes(4).toString('hex')}`;
  const dbNameFor = (name: string) => `${prefix}_${name}`;
  const secret = randomBytes(32);
  registerTestSecrets(secret, ...SUBGRAPH_NAMES.map((name) => deriveSubgraphKey(secret, name)));
  // Nothing on the console, but every line written: in a test run each goes to the capture the global teardown scans
  // for secrets (test/support/log-scan.ts), and these are the tests where both tenants' real data flows.
  const quiet: Logger = createLogger({ level: process.env.TOLLGATE_LOG_CAPTURE ? 'debug' : 'error', sink: () => {} });

  const encryption = encryptionOptionsOf(readEncryptionSettings(process.env, []));
  await seedDemoTenants({ mongoUri, dbNameFor, encryption });
  await seedControlPlane({ mongoUri, dbName: dbNameFor('control') });
  // These tests are about isolation, not limits: both tenants get the largest plan so deep queries are not refused.
  const controlPlane = await openControlPlane({ mongoUri, dbName: dbNameFor('control') });
  try {
    for (const tenant of ['acme', 'globex']) await controlPlane.tenants.updateTenant(tenant, { plan: 'enterprise' });
    await options.prepareControlPlane?.(controlPlane);
  } finally {
    await controlPlane.close();
  }

  const started = await Promise.all(
    SUBGRAPH_NAMES.map((name) =>
      startNamedSubgraph(name, {
        port: 0,
        mongoUri: options.mongoUriFor?.(name) ?? mongoUri,
        dbName: dbNameFor(name),
        internalKey: deriveSubgraphKey(secret, name),
        logger: quiet,
        ...(options.tracing ? { tracer: options.tracing.tracer } : {}),
        // As the seeder wrote them: the master key of the environment (the development one under .data/secrets).
        encryption,
      }),
    ),
  );
  const subgraphs = Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [name, started[i]!])) as Record<
    SubgraphName,
    RunningSubgraph
  >;

  const issuer: TestIssuer = await createTestIssuer();
  const config: GatewayConfig = {
    production: false,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'error',
    supergraphPath: DEFAULT_SUPERGRAPH_PATH,
    subgraphUrls: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, subgraphs[name].url])) as Record<
      SubgraphName,
      string
    >,
    subgraphTimeoutMs: SUBGRAPH_TIMEOUT_MS,
    maxBodyBytes: 1_048_576,
    internalSecret: { source: 'env', secret },
    jwt: { trustedIssuersFile: writeTrustedIssuersFile(issuer), trustDevIssuer: false },
    controlPlane: { mongoUri, dbName: dbNameFor('control') },
    redisUrl,
    budgetFailMode: 'open',
    budgetRedisTimeoutMs: TEST_REDIS_TIMEOUT_MS,
    apqRedisTimeoutMs: TEST_REDIS_TIMEOUT_MS,
    ...options.gateway,
  };
  const gateway = await startGateway(config, {
    logger: options.logger ?? quiet,
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });

  return {
    gateway,
    issuer,
    subgraphs,
    config,
    controlDbName: dbNameFor('control'),
    dbNameFor,
    dbNames: [...SUBGRAPH_NAMES, 'control'].map(dbNameFor),
    internalSecret: secret,
    token: (tenant, role, roles = [role]) =>
      issuer.sign({ tenant, sub: userIdFor(tenant, `${role}@${tenant}.test`), roles }),
    async graphql(token, query, variables) {
      const res = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) as GraphQLResult['body'], text };
    },
    async stop() {
      await gateway.stop();
      await Promise.all(Object.values(subgraphs).map((s) => s.stop()));
      const connection = await mongoose.createConnection(mongoUri).asPromise();
      try {
        for (const name of [...SUBGRAPH_NAMES, 'control'])
          await connection.useDb(dbNameFor(name), { useCache: true }).dropDatabase();
      } finally {
        await connection.close();
      }
    },
  };
}

/**
 * The gateway's audit trail on, as in production, for an e2e platform: a fresh Ed25519 checkpoint key in a file of its
 * own (the CLI can be given the same, so `tollgate audit verify` checks both against one public key), a spool beside
 * it, quick flushes, no retention job.
 */
export function auditedGateway(checkpointIntervalMs: number): { audit: AuditConfig; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-audit-e2e-'));
  const keyFile = join(dir, 'audit.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  return {
    keyFile,
    audit: {
      signingKey: { source: 'file', path: keyFile },
      spoolPath: join(dir, 'spool.ndjson'),
      spoolMaxBytes: 1_048_576,
      overflow: 'plan',
      flushIntervalMs: 20,
      checkpointIntervalMs,
      retentionIntervalMs: 0,
    },
  };
}
