/**
 * What switching to a supergraph would do to the persisted operations published for it (`tollgate supergraph
 * check`): which would no longer validate against its API schema — clients shipping them would be refused — and
 * whose estimated cost changes (a tenant's budget pays the new price). Pure: the schemas, cost models and served
 * manifests in, the report out. Costs are estimated with the operation's variables absent, i.e. at the defaults
 * and `@listSize` assumptions; an operation that cannot be estimated that way has no figure.
 */
import { Kind, parse, validate, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { compileCostPlan, evaluateCostPlan, type CostModel } from '../cost/estimate';
import type { PersistedOperation } from '../persisted/manifest';

export interface ServedManifest {
  readonly tenantId: string;
  readonly client: string;
  readonly version: number;
  readonly operations: readonly PersistedOperation[];
}

interface OperationRef {
  readonly tenantId: string;
  readonly client: string;
  readonly version: number;
  readonly operationId: string;
  readonly operationName: string;
}

export interface BrokenOperation extends OperationRef {
  /** graphql-js's validation messages against the new API schema (at most MAX_PROBLEMS). */
  readonly problems: readonly string[];
}

export interface CostChange extends OperationRef {
  /** `undefined`: the estimate needs variables. */
  readonly before: number | undefined;
  readonly after: number | undefined;
}

export interface SupergraphImpact {
  readonly operations: number;
  readonly broken: readonly BrokenOperation[];
  readonly costChanges: readonly CostChange[];
}

export interface ImpactInput {
  readonly next: { readonly apiSchema: GraphQLSchema; readonly costModel: CostModel };
  /** The supergraph served now, when known: cost changes are reported against it. */
  readonly previous?: { readonly costModel: CostModel };
  readonly manifests: readonly ServedManifest[];
}

const MAX_PROBLEMS = 3;

export function assessImpact(input: ImpactInput): SupergraphImpact {
  const broken: BrokenOperation[] = [];
  const costChanges: CostChange[] = [];
  let operations = 0;
  for (const manifest of input.manifests) {
    for (const operation of manifest.operations) {
      operations++;
      const ref: OperationRef = {
        tenantId: manifest.tenantId,
        client: manifest.client,
        version: manifest.version,
        operationId: operation.id,
        operationName: operation.name,
      };
      let document;
      try {
        document = parse(operation.body, { noLocation: true });
      } catch (error) {
        broken.push({ ...ref, problems: [error instanceof Error ? error.message : 'does not parse'] });
        continue;
      }
      const errors = validate(input.next.apiSchema, document, undefined, { maxErrors: MAX_PROBLEMS });
      if (errors.length > 0) {
        broken.push({ ...ref, problems: errors.slice(0, MAX_PROBLEMS).map((e) => e.message) });
        continue;
      }
      const definition = document.definitions.find(
        (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
      );
      if (!definition || !input.previous) continue;
      const before = estimate(input.previous.costModel, document, definition);
      const after = estimate(input.next.costModel, document, definition);
      if (before !== after) costChanges.push({ ...ref, before, after });
    }
  }
  return { operations, broken, costChanges };
}

function estimate(
  model: CostModel,
  document: Parameters<typeof compileCostPlan>[1],
  operation: OperationDefinitionNode,
): number | undefined {
  try {
    return evaluateCostPlan(compileCostPlan(model, document, operation), {});
  } catch {
    // Fields the model does not know (the previous supergraph lacks them) or variables the estimate needs.
    return undefined;
  }
}
