/**
 * What the overhead benchmark sends (bench/run.ts): the frontend query and the partner's operation, per gateway;
 * who runs which; the check that every gateway answers the same data; and the sequential measurements — MongoDB
 * commands per request and latency at rest.
 */
import { commandsPerRequest, latencyAtRest, type RestLatency } from './at-rest';
import type { LoadMode, RunningGateway } from './load';
import type { BenchControlPlane } from './platform';
import {
  FRONTEND_QUERY,
  PARTNER_QUERY,
  PARTNER_VARIABLES,
  README_QUERY,
  REST_GAP_MS,
  REST_REQUESTS,
  say,
  type GatewayName,
  type Scenario,
} from './settings';

export type { Scenario } from './settings';

export type Gateways = Partial<Record<GatewayName, RunningGateway>>;

export interface CommandCount {
  scenario: string;
  gateway: GatewayName;
  total: number;
  byCommand: Record<string, number>;
}

export async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: { data?: unknown; errors?: unknown[] } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: (await res.json()) as { data?: unknown; errors?: unknown[] } };
}

/**
 * The two scenarios, with `token` (acme's customer JWT) and the partner's API key. Where the partner's operation is
 * published, registers it on the bare gateway's APQ. Adds what the reader must know of them to `notes`.
 */
export async function buildScenarios(
  token: string,
  control: BenchControlPlane,
  bareUrl: string,
  notes: string[],
): Promise<Scenario[]> {
  const scenarios: Scenario[] = [
    {
      name: 'frontend query (4 subgraphs)',
      body: JSON.stringify({ query: FRONTEND_QUERY }),
      headers: {
        bare: {},
        tollgate: { authorization: `Bearer ${token}` },
        hive: {},
        'hive-features': { authorization: `Bearer ${token}` },
        'tollgate-legacy': { authorization: `Bearer ${token}` },
        'tollgate-observed': { authorization: `Bearer ${token}` },
        'tollgate-observed-10': { authorization: `Bearer ${token}` },
        'tollgate-observed-10-apollo': { authorization: `Bearer ${token}` },
        'tollgate-unmetered': { authorization: `Bearer ${token}` },
        'tollgate-nodedupe': { authorization: `Bearer ${token}` },
      },
      legacy: true,
    },
    {
      name: control.manifests ? 'partner persisted operation' : 'partner operation (API key)',
      body: JSON.stringify({ query: PARTNER_QUERY, variables: PARTNER_VARIABLES, operationName: 'PartnerCatalogSync' }),
      // Hive has no API keys: the Hive runs with features authenticate the partner's operation with the JWT.
      headers: {
        bare: {},
        tollgate: { 'x-api-key': control.issued.key },
        hive: {},
        'hive-features': { authorization: `Bearer ${token}` },
        'tollgate-legacy': {},
        'tollgate-observed': { 'x-api-key': control.issued.key },
        'tollgate-observed-10': { 'x-api-key': control.issued.key },
        'tollgate-observed-10-apollo': { 'x-api-key': control.issued.key },
        'tollgate-unmetered': { 'x-api-key': control.issued.key },
        'tollgate-nodedupe': { 'x-api-key': control.issued.key },
      },
      bodies: {
        hive: JSON.stringify({
          query: PARTNER_QUERY,
          variables: PARTNER_VARIABLES,
          operationName: 'PartnerCatalogSync',
        }),
      },
    },
  ];
  if (control.manifests) {
    // Tollgate: the id alone, resolved from the key's manifest. Bare: Apollo Server's APQ, the same id-only request
    // after one registration — the nearest thing a bare gateway has.
    const persisted = JSON.stringify({
      variables: PARTNER_VARIABLES,
      operationName: 'PartnerCatalogSync',
      extensions: { persistedQuery: { version: 1, sha256Hash: control.partnerOperationId } },
    });
    scenarios[1]!.body = persisted;
    scenarios[1]!.bodies!['hive-features'] = scenarios[1]!.bodies!.hive;
    notes.push(
      'partner operation on Hive: the plain query (Hive has no per-key manifest); with features, authenticated by the JWT (Hive has no API keys)',
    );
    const registration = await post(
      bareUrl,
      JSON.stringify({
        query: PARTNER_QUERY,
        variables: PARTNER_VARIABLES,
        extensions: { persistedQuery: { version: 1, sha256Hash: control.partnerOperationId } },
      }),
      {},
    );
    if (registration.status !== 200)
      throw new Error(`APQ registration on the bare gateway failed: ${JSON.stringify(registration.json)}`);
    notes.push(
      "partner operation: Tollgate runs it by id from the API key's published manifest (gateway/src/persisted); the bare gateway gets the same id-only body through Apollo Server's APQ (registered once before the run)",
    );
  } else {
    notes.push(
      "partner operation: gateway/src/persisted was not usable, so (b) is the partner's operation sent as a plain query with an X-Api-Key",
    );
  }
  return scenarios;
}

/** Who runs a scenario in a mode: the before/after of the loader only on the scenario it concerns, free. */
export function runners(gateways: Gateways, scenario: Scenario, mode: LoadMode): GatewayName[] {
  return (
    [
      'bare',
      'tollgate',
      'tollgate-observed',
      'tollgate-observed-10',
      'tollgate-observed-10-apollo',
      'hive',
      'hive-features',
      'tollgate-unmetered',
      'tollgate-nodedupe',
      'tollgate-legacy',
    ] as const
  ).filter(
    (name) =>
      gateways[name] !== undefined && (name !== 'tollgate-legacy' || (scenario.legacy === true && mode === 'free')),
  );
}

export const bodyOf = (scenario: Scenario, name: GatewayName) => scenario.bodies?.[name] ?? scenario.body;

/** Every gateway must answer the same thing, or the comparison is meaningless. */
export async function checkSameAnswers(gateways: Gateways, scenarios: Scenario[]): Promise<void> {
  for (const scenario of scenarios) {
    const a = await post(gateways.bare!.url, scenario.body, scenario.headers.bare);
    for (const name of runners(gateways, scenario, 'free').filter((n) => n !== 'bare')) {
      const b = await post(gateways[name]!.url, bodyOf(scenario, name), scenario.headers[name]);
      if (a.status !== 200 || b.status !== 200 || a.json.errors || b.json.errors) {
        throw new Error(
          `${scenario.name}: not a clean answer — bare ${a.status} ${JSON.stringify(a.json).slice(0, 300)} / ${name} ${b.status} ${JSON.stringify(b.json).slice(0, 300)}`,
        );
      }
      if (JSON.stringify(a.json.data) !== JSON.stringify(b.json.data))
        throw new Error(`${scenario.name}: ${name} answered different data than bare`);
    }
    say(`${scenario.name}: every gateway answers the same ${JSON.stringify(a.json.data).length} bytes of data`);
  }
}

/** MongoDB commands per request, sequential, for each scenario and gateway (the subgraphs' counters). */
export async function countCommands(
  gateways: Gateways,
  scenarios: Scenario[],
  countUrls: string[],
): Promise<CommandCount[]> {
  const commands: CommandCount[] = [];
  for (const scenario of scenarios) {
    for (const name of runners(gateways, scenario, 'free')) {
      const counted = await commandsPerRequest(
        gateways[name]!.url,
        bodyOf(scenario, name),
        scenario.headers[name],
        countUrls,
      );
      commands.push({ scenario: scenario.name, gateway: name, ...counted });
      say(
        `${scenario.name} · ${name}: ${counted.total} MongoDB commands per request ${JSON.stringify(counted.byCommand)}`,
      );
    }
  }
  return commands;
}

/** Latency at rest (one connection, sequential requests) of Tollgate (and its variants running), bare and Hive on three queries. */
export async function measureAtRest(gateways: Gateways, token: string): Promise<RestLatency[]> {
  const restQueries = [
    { name: '{ me { name } }', query: '{ me { name } }' },
    { name: "README's query", query: README_QUERY },
    { name: 'query (a)', query: FRONTEND_QUERY },
  ];
  const atRest: RestLatency[] = [];
  // The Tollgate variants started for this run (unmetered: no quota check, no metering) show what their
  // difference costs a sequential request.
  const measured: GatewayName[] = ['tollgate', 'tollgate-unmetered', 'tollgate-nodedupe', 'bare', 'hive'];
  const names = measured.filter((n) => gateways[n]);
  const targets = names.map((name) => ({
    url: gateways[name]!.url,
    headers: name.startsWith('tollgate') ? { authorization: `Bearer ${token}` } : ({} as Record<string, string>),
  }));
  for (const { name: queryName, query } of restQueries) {
    const figures = await latencyAtRest(targets, JSON.stringify({ query }), {
      requests: REST_REQUESTS,
      warmup: 20,
      gapMs: REST_GAP_MS,
    });
    for (const [i, name] of names.entries()) {
      const own = figures[i]!;
      atRest.push({ gateway: name, query: queryName, requests: REST_REQUESTS, ...own });
      say(`at rest · ${queryName} · ${name}: p50 ${own.p50Ms.toFixed(2)} ms, p99 ${own.p99Ms.toFixed(2)} ms`);
    }
  }
  return atRest;
}
