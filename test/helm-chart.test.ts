/**
 * The Helm chart (deploy/helm/tollgate) checked by tools/helm-check — Helm v4's `lint --strict` and template engine,
 * then every rendered object decoded strictly into its k8s.io/api type — with the default values and the production
 * example; then the wiring a schema cannot see; and the checker shown to fail on a broken template.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_BUNDLES } from '../scripts/build';
import { buildGoTool } from '../scripts/embedded/go-tool';
import { SUBGRAPH_NAMES } from '../subgraphs/catalog';

const ROOT = join(__dirname, '..');
const CHART = join(ROOT, 'deploy/helm/tollgate');
const PRODUCTION = join(CHART, 'values-production.example.yaml');

// Rendered Kubernetes objects, checked field by field.
type K8sObject = {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any object's spec; the tests read it field by field
  spec?: any;
  data?: Record<string, string>;
};

let checker: string;

function check(chart: string, valueFiles: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const args = ['-chart', chart, ...valueFiles.flatMap((f) => ['-f', f])];
  const result = spawnSync(checker, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function render(valueFiles: string[] = []): K8sObject[] {
  const result = check(CHART, valueFiles);
  if (result.status !== 0) throw new Error(`helm-check refused the chart:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};

let defaults: K8sObject[];
let production: K8sObject[];

beforeAll(() => {
  // .ci/run builds it first; a cold build of Helm and the Kubernetes types takes minutes.
  checker = buildGoTool('helm-check');
  defaults = render();
  production = render([PRODUCTION]);
}, 1_800_000);

describe.each([
  ['the default values', () => defaults],
  ['the production example', () => production],
])('rendered with %s', (_label, objects) => {
  it('holds the gateway, the four subgraphs, their Services, PDBs, NetworkPolicies, the HPA, the supergraph and the migration Job', () => {
    const kinds = (kind: string) =>
      objects()
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    const components = ['gateway', ...SUBGRAPH_NAMES].map((c) => `tollgate-${c}`).sort();
    expect(kinds('Deployment')).toEqual(components);
    expect(kinds('Service')).toEqual(components);
    expect(kinds('PodDisruptionBudget')).toEqual(components);
    expect(kinds('NetworkPolicy')).toEqual(components);
    expect(kinds('HorizontalPodAutoscaler')).toEqual(['tollgate-gateway']);
    expect(kinds('ConfigMap')).toEqual(['tollgate-supergraph']);
    expect(kinds('Job')).toEqual(['tollgate-migrate']);
  });

  it('runs the gateway with probes on /healthz and /readyz, a preStop delay inside the grace period, and locked down', () => {
    const deployment = find(objects(), 'Deployment', 'tollgate-gateway');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    const delay = Number(container.lifecycle.preStop.exec.command[1]);
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
    expect(delay).toBeGreaterThan(0);
    // The grace period covers the delay and then the drain.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(delay);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
    });
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env.NODE_ENV).toBe('production');
    expect(env.TRUSTED_ISSUERS_FILE).toMatch(/^\/etc\/tollgate\/issuers\//);
    expect(env.SUPERGRAPH_PATH).toBe('/etc/tollgate/supergraph/supergraph.graphql');
    expect(env.TOLLGATE_INTERNAL_SECRET).toMatchObject({ secretKeyRef: { key: 'TOLLGATE_INTERNAL_SECRET' } });
    expect(env.REDIS_URL).toMatchObject({ secretKeyRef: { key: 'REDIS_URL' } });
    for (const name of SUBGRAPH_NAMES)
      expect(env[`${name.toUpperCase()}_URL`]).toMatch(new RegExp(`^http://tollgate-${name}:\\d+/graphql$`));
  });

  it('gives each subgraph only its own key and lets only the gateway reach it', () => {
    for (const name of SUBGRAPH_NAMES) {
      const [container] = find(objects(), 'Deployment', `tollgate-${name}`).spec.template.spec.containers;
      expect(container.command).toEqual(['node', '--enable-source-maps', 'dist/subgraph.js', name]);
      const names = container.env.map((e: { name: string }) => e.name);
      expect(names).not.toContain('TOLLGATE_INTERNAL_SECRET');
      expect(
        container.env.find((e: { name: string }) => e.name === 'TOLLGATE_INTERNAL_KEY').valueFrom.secretKeyRef.key,
      ).toBe(`${name.toUpperCase()}_INTERNAL_KEY`);
      expect(container.readinessProbe.httpGet.path).toBe('/healthz');
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      const policy = find(objects(), 'NetworkPolicy', `tollgate-${name}`).spec;
      expect(policy.podSelector.matchLabels['app.kubernetes.io/component']).toBe(name);
      expect(policy.ingress).toHaveLength(1);
      expect(policy.ingress[0].from).toEqual([
        { podSelector: { matchLabels: expect.objectContaining({ 'app.kubernetes.io/component': 'gateway' }) } },
      ]);
    }
  });

  it('migrates in a pre-install/pre-upgrade/pre-rollback hook Job running a bundle the image has', () => {
    const job = find(objects(), 'Job', 'tollgate-migrate');
    // pre-rollback too: the version rolled back to checks for the indexes it declares, so its migration runs first.
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade,pre-rollback');
    const [container] = job.spec.template.spec.containers;
    expect(container.command).toEqual(['node', '--enable-source-maps', 'dist/tollgate.js', 'migrate']);
    expect(DEFAULT_BUNDLES.map((b) => `dist/${b.out}.js`)).toContain(container.command[2]);
  });

  it('serves the checked-in supergraph from its ConfigMap', () => {
    const supergraph = readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8');
    // The chart's copy must not drift from the composed supergraph.
    expect(readFileSync(join(CHART, 'files/supergraph.graphql'), 'utf8')).toBe(supergraph);
    expect(find(objects(), 'ConfigMap', 'tollgate-supergraph').data?.['supergraph.graphql']).toBe(supergraph.trimEnd());
  });
});

it('renders no ServiceMonitor by default (metrics are off); the production example asks for one', () => {
  expect(defaults.some((o) => o.kind === 'ServiceMonitor')).toBe(false);
  expect(production.filter((o) => o.kind === 'ServiceMonitor')).toHaveLength(1);
});

it('gives the gateway a metrics port only when metrics are on, and the ServiceMonitor scrapes that port', () => {
  const ports = (objects: K8sObject[]) => {
    const [container] = find(objects, 'Deployment', 'tollgate-gateway').spec.template.spec.containers;
    const env = Object.fromEntries((container.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    return {
      container: (container.ports as { name: string; containerPort: number }[]).map(
        (p) => `${p.name}:${p.containerPort}`,
      ),
      service: (find(objects, 'Service', 'tollgate-gateway').spec.ports as { name: string; targetPort: string }[]).map(
        (p) => `${p.name}>${p.targetPort}`,
      ),
      env: { METRICS_PORT: env.METRICS_PORT, METRICS_HOST: env.METRICS_HOST },
    };
  };
  expect(ports(defaults)).toEqual({
    container: ['http:4000'],
    service: ['http>http'],
    env: { METRICS_PORT: undefined, METRICS_HOST: undefined },
  });
  expect(ports(production)).toEqual({
    container: ['http:4000', 'metrics:9464'],
    service: ['http>http', 'metrics>metrics'],
    env: { METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' },
  });
  const [monitor] = production.filter((o) => o.kind === 'ServiceMonitor');
  expect(monitor?.spec.endpoints.map((e: { port: string; path: string }) => `${e.port}${e.path}`)).toEqual([
    'metrics/metrics',
  ]);
  // With network policies on, the metrics port is open to the cluster's pods only.
  const policy = find(production, 'NetworkPolicy', 'tollgate-gateway');
  expect(policy.spec.ingress).toContainEqual({
    from: [{ namespaceSelector: {} }],
    ports: [{ protocol: 'TCP', port: 9464 }],
  });
});

it('refuses a ServiceMonitor without metrics: it would scrape a port nobody serves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-values-'));
  try {
    const values = join(dir, 'values.yaml');
    writeFileSync(values, 'serviceMonitor:\n  enabled: true\n');
    const result = check(CHART, [values]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('serviceMonitor.enabled needs metrics.enabled');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('creates the Secrets from values in the production example, and none with the defaults (existing Secrets)', () => {
  expect(defaults.filter((o) => o.kind === 'Secret')).toHaveLength(0);
  expect(
    production
      .filter((o) => o.kind === 'Secret')
      .map((o) => o.metadata.name)
      .sort(),
  ).toEqual(['tollgate-connections', 'tollgate-internal-keys', 'tollgate-trusted-issuers']);
});

describe('the checker fails', () => {
  let copy: string;
  beforeEach(() => {
    copy = join(mkdtempSync(join(tmpdir(), 'helm-check-')), 'tollgate');
    cpSync(CHART, copy, { recursive: true });
  });
  afterEach(() => rmSync(join(copy, '..'), { recursive: true, force: true }));

  it('on a field the Kubernetes API does not know (a typo the API server would drop)', () => {
    const file = join(copy, 'templates/gateway.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('          readinessProbe:', '          readinesProbe:'));
    const result = check(copy);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unknown field "spec.template.spec.containers[0].readinesProbe"');
  });

  it('on a template that does not render', () => {
    writeFileSync(
      join(copy, 'templates/broken.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.deeper }}\n',
    );
    const result = check(copy);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('helm lint --strict failed');
  });

  it('on a kind no scheme knows', () => {
    writeFileSync(
      join(copy, 'templates/unknown.yaml'),
      'apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n',
    );
    expect(check(copy).status).toBe(1);
  });
});
