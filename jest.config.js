/**
 * Two jest projects:
 *
 *   unit          pure logic: no FerretDB, no Redis, no HTTP server, no browser, no Go tool. No global setup, so
 *                 `npm run test:unit` (parallel workers) answers in seconds.
 *   integration   everything else: real FerretDB, Redis, HTTP between gateway and subgraphs, Chromium. Its global
 *                 setup provides them (test/global-setup.ts) and installs what it can (test/prerequisites.ts).
 *
 * The unit tests are listed by name below and every other *.test.ts is an integration test: a new test file runs
 * with its services until someone decides it needs none and adds it here. A file named here that no longer exists
 * (moved, renamed) stops the run, so the list cannot quietly go stale.
 *
 * `npm test` runs both projects in band (the integration tests share one FerretDB, one Redis and two cores);
 * a project's global setup runs only when at least one of its tests is selected.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const UNIT_TESTS = [
  'common/email.test.ts',
  'common/logger.test.ts',
  'common/metrics/counter.test.ts',
  'common/metrics/histogram.test.ts',
  'common/platform-token.test.ts',
  'common/secret-shapes.test.ts',
  'common/shield-node-compat.test.ts',
  'common/tracing/settings.test.ts',
  'cli/suggest.test.ts',
  'gateway/src/audit/canonical.test.ts',
  'gateway/src/audit/chain.test.ts',
  'gateway/src/audit/from-request.test.ts',
  'gateway/src/audit/graphql.test.ts',
  'gateway/src/audit/redact.test.ts',
  'gateway/src/audit/signing.test.ts',
  'gateway/src/audit/stage.test.ts',
  'gateway/src/audit/writer.test.ts',
  'cli/lifecycle/lifecycle.test.ts',
  'cli/lifecycle/placement.test.ts',
  'cli/lifecycle/retention-policy.test.ts',
  'cli/suggest.test.ts',
  'subgraphs/kit/platform/portable.test.ts',
  'gateway/src/authz/filter.test.ts',
  'gateway/src/authz/gate.test.ts',
  'gateway/src/authz/input-rules.test.ts',
  'gateway/src/authz/rules.test.ts',
  'gateway/src/budget/bucket.test.ts',
  'gateway/src/cache.test.ts',
  'gateway/src/client-address.test.ts',
  'gateway/src/config.test.ts',
  'gateway/src/cost/directives.test.ts',
  'gateway/src/cost/estimate.test.ts',
  'gateway/src/cost/price.test.ts',
  'gateway/src/supergraph/validate.test.ts',
  'gateway/src/supergraph/reloader.test.ts',
  'gateway/src/credentials/api-key-verifier.test.ts',
  'gateway/src/credentials/failure-limiter.test.ts',
  'gateway/src/credentials/key-id-index.test.ts',
  'gateway/src/errors.test.ts',
  'gateway/src/explorer/explorer-client.test.ts',
  'gateway/src/explorer/introspection-stage.test.ts',
  'gateway/src/explorer/visible-schema.test.ts',
  'gateway/src/health.test.ts',
  'gateway/src/metering/buckets.test.ts',
  'gateway/src/metering/report.test.ts',
  'gateway/src/metrics/labels.test.ts',
  'gateway/src/http/abandoned-work.test.ts',
  'gateway/src/http/authenticate.test.ts',
  'gateway/src/http/client-awareness.test.ts',
  'gateway/src/http/cors-headers.test.ts',
  'gateway/src/http/document-bounds.test.ts',
  'gateway/src/http/json-depth.test.ts',
  'gateway/src/http/persisted.test.ts',
  'gateway/src/http/preview-roles.test.ts',
  'gateway/src/http/request-log.test.ts',
  'gateway/src/persisted/manifest.test.ts',
  'gateway/src/pipeline/authorize.test.ts',
  'gateway/src/pipeline/index.test.ts',
  'gateway/src/pipeline/limits-cost.test.ts',
  'gateway/src/pipeline/limits.test.ts',
  'gateway/src/pipeline/operation-kind.test.ts',
  'gateway/src/pipeline/quota.test.ts',
  'gateway/src/pipeline/moving.test.ts',
  'gateway/src/pipeline/runner.test.ts',
  'gateway/src/references/check.test.ts',
  'gateway/src/references/plan.test.ts',
  'gateway/src/tenants/directory.test.ts',
  'gateway/src/tracing/attributes.test.ts',
  'gateway/src/tracing/explicit.test.ts',
  'gateway/src/tracing/incoming.test.ts',
  'gateway/src/tracing/spans.test.ts',
  'gateway/src/upstream/circuit-breaker.test.ts',
  'gateway/src/upstream/subgraph-health.test.ts',
  'gateway/src/upstream/completion-errors.test.ts',
  'gateway/src/upstream/data-source.test.ts',
  'gateway/src/upstream/dedupe.test.ts',
  'gateway/src/upstream/data-source-dedupe.test.ts',
  'gateway/src/upstream/fetch-failure.test.ts',
  'gateway/src/upstream/mask-errors.test.ts',
  'gateway/src/upstream/planner-errors.test.ts',
  'schema/operations/codegen-clients.test.ts',
  'subgraphs/kit/encryption/format.test.ts',
  'subgraphs/kit/pagination.test.ts',
  'subgraphs/kit/placement.test.ts',
  'subgraphs/kit/serialize.test.ts',
  'subgraphs/kit/tracing.test.ts',
  'test/prerequisites.test.ts',
  'test/regexp-lint.test.ts',
  'test/support/log-scan.test.ts',
];

for (const file of UNIT_TESTS) {
  if (!existsSync(join(__dirname, file))) {
    throw new Error(`jest.config.js lists the unit test ${file}, which does not exist: update UNIT_TESTS`);
  }
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  // jose 6 ships ESM only; swc turns it into CommonJS for jest like our own TypeScript.
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};

/** @type {import('jest').Config} */
module.exports = {
  // A global option: jest-circus reads testTimeout from the global configuration only, never from a project's.
  testTimeout: 30000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: UNIT_TESTS.map((file) => `<rootDir>/${file}`),
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: [
        '/node_modules/',
        '/.data/',
        '/tools/',
        ...UNIT_TESTS.map((file) => `^${escape(join(__dirname, file))}$`),
      ],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
};
