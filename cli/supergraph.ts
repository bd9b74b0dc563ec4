/**
 * `tollgate supergraph …`: publish a supergraph to every gateway replica, check what a new one would break, and
 * see which versions were published. Publishing stores the SDL in the control plane (its id the SHA-256 of the
 * SDL) and announces it; every gateway checks it again (gateway/src/supergraph/validate.ts) and switches within
 * 5 s, or refuses it and keeps serving the last good one.
 *
 * The checks run here against Tollgate's own policy (authorization rules, reference declarations, subgraph catalog);
 * a deployment serving a graph of its own passes --skip-policy and leaves those checks to its gateways. The
 * validation and cost modules are loaded only by these commands: the other commands stay quick to start.
 */
import { readFileSync } from 'node:fs';
import type { ControlPlane } from '../gateway/src/control-plane/open';
import type { ServedManifest, SupergraphImpact } from '../gateway/src/supergraph/impact';
import type { SupergraphPolicy } from '../gateway/src/supergraph/validate';
import { UsageError, date, table, type Command, type Context } from './command';

const STDIN = '-';

async function readSupergraph(file: string, stdin: (() => Promise<string>) | undefined): Promise<string> {
  if (file === STDIN && !stdin) throw new UsageError('standard input cannot be read here: give a file');
  try {
    return file === STDIN ? await stdin!() : readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file === STDIN ? 'standard input' : file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Tollgate's own policy, or (--skip-policy) only what holds for any deployment: it parses, its costs build. */
async function policyFor(skip: boolean): Promise<SupergraphPolicy> {
  const { allow } = await import('graphql-shield');
  if (skip) {
    return {
      authorization: { rules: {}, introspectionRule: allow },
      references: { owners: {}, arguments: {} },
      subgraphConfigured: () => true,
      skipRuleCoverage: true,
    };
  }
  const [{ ruleTree, introspectionRule }, { TOLLGATE_REFERENCES }, { isSubgraphName }] = await Promise.all([
    import('../gateway/src/authz/rules'),
    import('../gateway/src/references/declarations'),
    import('../subgraphs/catalog'),
  ]);
  return {
    authorization: { rules: ruleTree, introspectionRule },
    references: TOLLGATE_REFERENCES,
    subgraphConfigured: (name) => isSubgraphName(name),
  };
}

/** The served version of every client's manifest, of every tenant. */
async function servedManifests(controlPlane: ControlPlane): Promise<ServedManifest[]> {
  const served: ServedManifest[] = [];
  for (const tenant of await controlPlane.tenants.listTenants()) {
    const newest = new Map<string, ServedManifest>();
    for (const version of await controlPlane.manifests.list(tenant.id)) {
      if (!version.retiredAt) newest.set(version.client, version);
    }
    served.push(...newest.values());
  }
  return served;
}

/** The SDL gateways serve now as far as the control plane and SUPERGRAPH_PATH tell: the published one first. */
async function servedSdl(context: Context): Promise<string | undefined> {
  const published = await (await context.controlPlane()).supergraphs.current();
  if (published) return published.sdl;
  try {
    return readFileSync(context.config().supergraphPath, 'utf8');
  } catch {
    return undefined;
  }
}

const POLICY_OPTION = { 'skip-policy': { type: 'boolean' } } as const;

function impactText(impact: SupergraphImpact): string[] {
  const lines = [`${impact.operations} published persisted operations checked.`];
  if (impact.broken.length > 0) {
    lines.push(`${impact.broken.length} would no longer validate:`);
    for (const b of impact.broken) {
      lines.push(
        `  tenant ${b.tenantId}, client ${b.client} v${b.version}: ${b.operationName} (${b.operationId.slice(0, 12)}): ${b.problems.join(' ')}`,
      );
    }
  }
  if (impact.costChanges.length > 0) {
    lines.push(`${impact.costChanges.length} change their estimated cost:`);
    for (const c of impact.costChanges) {
      lines.push(
        `  tenant ${c.tenantId}, client ${c.client} v${c.version}: ${c.operationName}: ${c.before ?? '?'} -> ${c.after ?? '?'}`,
      );
    }
  }
  return lines;
}

export const SUPERGRAPH_COMMANDS: Record<string, Command> = {
  'supergraph publish': {
    usage: 'supergraph publish <file|-> [--skip-policy]',
    summary:
      'Checks a supergraph (it parses, every field has an authorization rule, the cost model builds, its subgraphs are known) and publishes it: every gateway replica checks it again and serves it within 5 s, and a replica started later loads it. Published versions outrank SUPERGRAPH_PATH and SUPERGRAPH_URL. Publishing an earlier version again rolls back to it. - reads standard input; --skip-policy checks only that it parses and its costs build (a deployment with its own authorization policy).',
    options: POLICY_OPTION,
    positionals: ['file'],
    async run({ values, positionals, io, controlPlane, print }) {
      const sdl = await readSupergraph(positionals[0]!, io.stdin);
      const { checkSupergraph } = await import('../gateway/src/supergraph/validate');
      const check = checkSupergraph(sdl, await policyFor(values['skip-policy'] === true));
      if (!check.ok)
        throw new Error(`the supergraph was refused (${check.reason}): ${check.message}; nothing was published`);
      const published = await (await controlPlane()).supergraphs.publish(sdl);
      print(
        { id: published.id, publishedAt: published.publishedAt, publications: published.publications },
        () => `Published supergraph ${published.id}; every gateway serves it within 5 s.`,
      );
    },
  },
  'supergraph check': {
    usage: 'supergraph check <file|-> [--skip-policy]',
    summary:
      'Reports what serving a supergraph would break, without publishing it: the checks gateways run (fields without authorization rules among them), the published persisted operations (per tenant and client) that would no longer validate, and the persisted operations whose estimated cost changes against the served supergraph. Exit code 1 when something breaks.',
    options: POLICY_OPTION,
    positionals: ['file'],
    async run(context) {
      const { values, positionals, io, print } = context;
      const sdl = await readSupergraph(positionals[0]!, io.stdin);
      const [{ checkSupergraph }, { assessImpact }, { buildApiSchema }, { createCostModel }] = await Promise.all([
        import('../gateway/src/supergraph/validate'),
        import('../gateway/src/supergraph/impact'),
        import('../gateway/src/schema/api-schema'),
        import('../gateway/src/cost/estimate'),
      ]);
      const policy = await policyFor(values['skip-policy'] === true);
      const check = checkSupergraph(sdl, policy);
      // The persisted operations are checked whenever the schema builds, even if a policy check failed.
      let apiSchema;
      let costModel;
      try {
        apiSchema = check.ok ? check.supergraph.apiSchema : buildApiSchema(sdl);
        costModel = check.ok ? check.supergraph.costModel : createCostModel(sdl);
      } catch {
        apiSchema = undefined;
      }
      // Every field without a rule, whatever else was refused first (the check stops at its first failure).
      let uncoveredFields: readonly string[] = [];
      if (apiSchema && values['skip-policy'] !== true) {
        const { AuthorizationGate } = await import('../gateway/src/authz/gate');
        try {
          uncoveredFields = new AuthorizationGate({ schema: apiSchema, ...policy.authorization }).uncoveredFields;
        } catch {
          // The rules do not fit the schema at all: the verdict says so.
        }
      }
      let impact: SupergraphImpact | undefined;
      if (apiSchema && costModel) {
        const previousSdl = await servedSdl(context);
        let previous;
        try {
          previous = previousSdl === undefined ? undefined : { costModel: createCostModel(previousSdl) };
        } catch {
          previous = undefined;
        }
        impact = assessImpact({
          next: { apiSchema, costModel },
          ...(previous ? { previous } : {}),
          manifests: await servedManifests(await context.controlPlane()),
        });
      }
      const verdict = check.ok ? { ok: true } : { ok: false, reason: check.reason, message: check.message };
      const id = check.ok ? check.supergraph.id : check.id;
      print({ id, check: verdict, uncoveredFields, ...(impact ?? {}) }, () =>
        [
          check.ok
            ? 'The supergraph passes every check.'
            : `The supergraph is refused (${check.reason}): ${check.message}`,
          ...(uncoveredFields.length > 0
            ? [`Fields without an authorization rule: ${uncoveredFields.join(', ')}`]
            : []),
          ...(impact ? impactText(impact) : []),
        ].join('\n'),
      );
      const broken = impact?.broken.length ?? 0;
      if (!check.ok || broken > 0) {
        throw new Error(
          `the supergraph would break what is served${broken > 0 ? ` (${broken} persisted operations)` : ''}`,
        );
      }
    },
  },
  'supergraph list': {
    usage: 'supergraph list',
    summary: 'Lists the published supergraph versions, newest publication first; the first is served.',
    async run({ controlPlane, print }) {
      const versions = await (await controlPlane()).supergraphs.list();
      print(
        versions.map((v, i) => ({ ...v, status: i === 0 ? 'served' : 'earlier' })),
        () =>
          table(
            ['ID', 'STATUS', 'PUBLISHED', 'PUBLICATIONS'],
            versions.map((v, i) => [v.id, i === 0 ? 'served' : 'earlier', date(v.publishedAt), String(v.publications)]),
          ),
      );
    },
  },
  'supergraph current': {
    usage: 'supergraph current [--sdl]',
    summary:
      'Shows the published supergraph gateways serve (its id and date); --sdl prints its SDL. Without a published one, gateways serve SUPERGRAPH_URL or SUPERGRAPH_PATH.',
    options: { sdl: { type: 'boolean' } },
    async run({ values, controlPlane, print, io }) {
      const current = await (await controlPlane()).supergraphs.current();
      if (!current) throw new Error('no supergraph is published: gateways serve SUPERGRAPH_URL or SUPERGRAPH_PATH');
      if (values.sdl) {
        io.stdout(current.sdl.endsWith('\n') ? current.sdl : `${current.sdl}\n`);
        return;
      }
      print(
        { id: current.id, publishedAt: current.publishedAt, publications: current.publications },
        () => `supergraph ${current.id}, published ${date(current.publishedAt)}`,
      );
    },
  },
};
