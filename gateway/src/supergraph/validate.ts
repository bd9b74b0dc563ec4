/**
 * The checks a supergraph passes before a gateway serves it — at start and before every hot swap — and before
 * `tollgate supergraph publish` stores it. Pure: the SDL and the deployment's policy in, a verdict out, nothing
 * opened. A refusal carries a stable reason code (logs, `tollgate_supergraph_reload_total`, the CLI) and a message
 * for the operator; a supergraph that passes comes back with what was built while checking it (API schema,
 * authorization gate, cost model, reference plan), so the swap reuses them instead of building them twice.
 *
 * What is checked, in order (the first failure is the answer):
 * - `too-large`: more than MAX_SUPERGRAPH_BYTES.
 * - `unparsable`: not GraphQL, or not a valid federation supergraph (Supergraph.build validates it; its API schema
 *   must build).
 * - `missing-subgraph`: it names a subgraph the deployment has no URL (and internal key) for.
 * - `invalid-rules`: the authorization policy does not fit it (a rule on an interface, two rules with one name).
 * - `uncovered-fields`: a field of its API schema has no authorization rule. The fallback rule would deny it, but a
 *   field nobody can call is a deployment mistake, so the supergraph is refused rather than served half-usable.
 * - `cost-model`: its `@cost`/`@listSize` directives do not make a cost model.
 * - `references`: a declared reference argument (references/declarations.ts) no longer matches it.
 */
import { Supergraph } from '@apollo/federation-internals';
import type { GraphQLSchema } from 'graphql';
import { AuthorizationGate, RuleTreeError, type RuleTree, type ShieldRule } from '../authz/gate';
import { createCostModel, type CostModel } from '../cost/estimate';
import type { ReferencePolicy } from '../references/declarations';
import { planReferences, type ReferencePlan } from '../references/plan';
import { MAX_SUPERGRAPH_BYTES, supergraphId } from './registry';

export const SUPERGRAPH_REFUSALS = [
  'too-large',
  'unparsable',
  'missing-subgraph',
  'invalid-rules',
  'uncovered-fields',
  'cost-model',
  'references',
] as const;
export type SupergraphRefusal = (typeof SUPERGRAPH_REFUSALS)[number];

/** What the deployment brings that a supergraph must fit. */
export interface SupergraphPolicy {
  readonly authorization: { readonly rules: RuleTree; readonly introspectionRule: ShieldRule };
  readonly references: ReferencePolicy;
  /** Whether the deployment can reach the subgraph `name` (a configured URL and internal key). */
  subgraphConfigured(name: string): boolean;
  /**
   * The CLI's --skip-policy only (a deployment whose policy the CLI does not know): rule coverage is left to the
   * gateways, which never set it.
   */
  readonly skipRuleCoverage?: boolean;
  /** For the gate built here, which the swap keeps (cache.ts). */
  readonly analysisCacheBytes?: number;
}

/** A supergraph that passed, with what was built to check it. */
export interface CheckedSupergraph {
  /** SHA-256 (hex) of the SDL: the version. */
  readonly id: string;
  readonly sdl: string;
  readonly apiSchema: GraphQLSchema;
  readonly gate: AuthorizationGate;
  readonly costModel: CostModel;
  readonly referencePlan: ReferencePlan;
  /** The subgraphs it names. */
  readonly subgraphs: readonly string[];
}

export type SupergraphCheck =
  | { readonly ok: true; readonly supergraph: CheckedSupergraph }
  | { readonly ok: false; readonly id: string; readonly reason: SupergraphRefusal; readonly message: string };

/** Library messages can quote a whole schema: the operator's log gets the start of it. */
const MAX_MESSAGE_LENGTH = 500;
/** Fields named in an `uncovered-fields` message; the count says how many more. */
const MAX_FIELDS_NAMED = 10;

export function checkSupergraph(sdl: string, policy: SupergraphPolicy): SupergraphCheck {
  const id = supergraphId(sdl);
  const refuse = (reason: SupergraphRefusal, message: string): SupergraphCheck => ({
    ok: false,
    id,
    reason,
    message: message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message,
  });
  if (Buffer.byteLength(sdl) > MAX_SUPERGRAPH_BYTES)
    return refuse('too-large', `the supergraph has more than ${MAX_SUPERGRAPH_BYTES} bytes`);

  let apiSchema: GraphQLSchema;
  let subgraphs: string[];
  try {
    const supergraph = Supergraph.build(sdl);
    subgraphs = supergraph.subgraphsMetadata().map((s) => s.name);
    apiSchema = supergraph.apiSchema().toGraphQLJSSchema();
  } catch (error) {
    return refuse('unparsable', `not a valid supergraph: ${messageOf(error)}`);
  }

  const missing = subgraphs.filter((name) => !policy.subgraphConfigured(name));
  if (missing.length > 0)
    return refuse('missing-subgraph', `no subgraph URL is configured for ${missing.map((n) => `"${n}"`).join(', ')}`);

  let gate: AuthorizationGate;
  try {
    gate = new AuthorizationGate({
      schema: apiSchema,
      ...policy.authorization,
      ...(policy.analysisCacheBytes === undefined ? {} : { analysisCacheBytes: policy.analysisCacheBytes }),
    });
  } catch (error) {
    if (error instanceof RuleTreeError) return refuse('invalid-rules', error.message);
    throw error;
  }
  if (gate.uncoveredFields.length > 0 && !policy.skipRuleCoverage) {
    const fields = gate.uncoveredFields;
    const more = fields.length > MAX_FIELDS_NAMED ? ` and ${fields.length - MAX_FIELDS_NAMED} more` : '';
    return refuse(
      'uncovered-fields',
      `no authorization rule covers ${fields.slice(0, MAX_FIELDS_NAMED).join(', ')}${more}`,
    );
  }

  let costModel: CostModel;
  try {
    costModel = createCostModel(sdl);
  } catch (error) {
    return refuse('cost-model', `the cost model does not build: ${messageOf(error)}`);
  }

  let referencePlan: ReferencePlan;
  try {
    referencePlan = planReferences(policy.references, apiSchema, sdl);
  } catch (error) {
    return refuse('references', messageOf(error));
  }

  return { ok: true, supergraph: { id, sdl, apiSchema, gate, costModel, referencePlan, subgraphs } };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
