/**
 * Actual cost, from the response an operation produced: the estimate's weights (model.ts, compile.ts) with real
 * list lengths.
 */
import { Kind, type FieldNode, type SelectionSetNode } from 'graphql';
import { isIncluded } from '../document/conditions';
import type { Variables } from '../document/variables';
import { newCompiler, fragmentNamed, onceCost, type Compiler } from './compile';
import { evaluate } from './evaluate';
import { appliesTo, fieldNamed, rootType, typeNamed, type FieldCostInfo, type TypeCostInfo } from './model';
import type { CostPlan } from './plan';

interface ResponseWalk {
  readonly c: Compiler;
  readonly variables: Variables;
  /**
   * Every object of a list is walked with the same selection sets: their fields are collected once per sets and
   * runtime type, and the child sets of a collected field are built once, so that the child sets keep their
   * identity as keys here.
   */
  readonly collected: WeakMap<
    readonly SelectionSetNode[],
    Map<TypeCostInfo | undefined, Map<string, CollectedField[]>>
  >;
  readonly childSets: WeakMap<CollectedField[], readonly SelectionSetNode[]>;
}

interface CollectedField {
  readonly node: FieldNode;
  /** The type the field is looked up on: the concrete type when known, else the selection's own scope. */
  readonly scope: TypeCostInfo;
}

/**
 * What the operation actually cost, from the response it produced: the same weights as the estimate, with the real
 * length of every list instead of its estimated size, and nothing for what came back null or missing. Fields are
 * collected the way execution collects them (one entry per response key, each fragment once), so the response's
 * own shape bounds the work. Under an abstract type the concrete type is known from `__typename` when the operation
 * asked for it; otherwise every fragment's fields are matched by response key.
 */
export function actualCost(data: unknown, plan: CostPlan, variables: Variables): number {
  if (!isRecord(data)) return 0;
  const c = newCompiler(plan.model, plan.document, plan.operation, { maxVisits: Number.POSITIVE_INFINITY });
  const walk: ResponseWalk = { c, variables, collected: new WeakMap(), childSets: new WeakMap() };
  return objectCost(walk, data, [plan.operation.selectionSet], rootType(plan.model, plan.operation));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectCost(
  walk: ResponseWalk,
  data: Record<string, unknown>,
  sets: readonly SelectionSetNode[],
  type: TypeCostInfo,
): number {
  let runtime = type.abstract ? undefined : type;
  let fields = collectedFields(walk, sets, type, runtime);
  if (!runtime) {
    const typenameKey = [...fields].find(([, nodes]) => nodes[0]?.node.name.value === '__typename')?.[0];
    const typename = typenameKey === undefined ? undefined : data[typenameKey];
    if (typeof typename === 'string' && type.possibleTypes.has(typename)) {
      runtime = typeNamed(walk.c.model, typename);
      fields = collectedFields(walk, sets, type, runtime);
    }
  }

  let total = 0;
  for (const [key, nodes] of fields) {
    const first = nodes[0];
    if (!first || !Object.hasOwn(data, key) || first.node.name.value === '__typename') continue;
    const field = fieldNamed(first.scope, first.node.name.value);
    total += evaluate(onceCost(walk.c, first.node, first.scope, field), walk.c.model, walk.variables);
    let childSets = walk.childSets.get(nodes);
    if (!childSets) {
      childSets = nodes.flatMap(({ node }) => (node.selectionSet ? [node.selectionSet] : []));
      walk.childSets.set(nodes, childSets);
    }
    total += valueCost(walk, data[key], field, childSets);
  }
  return total;
}

function collectedFields(
  walk: ResponseWalk,
  sets: readonly SelectionSetNode[],
  scope: TypeCostInfo,
  runtime: TypeCostInfo | undefined,
): Map<string, CollectedField[]> {
  let byRuntime = walk.collected.get(sets);
  if (!byRuntime) {
    byRuntime = new Map();
    walk.collected.set(sets, byRuntime);
  }
  let fields = byRuntime.get(runtime);
  if (!fields) {
    fields = collectFields(walk, sets, scope, runtime);
    byRuntime.set(runtime, fields);
  }
  return fields;
}

function valueCost(
  walk: ResponseWalk,
  value: unknown,
  field: FieldCostInfo,
  sets: readonly SelectionSetNode[],
): number {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) return value.reduce<number>((total, item) => total + valueCost(walk, item, field, sets), 0);
  if (field.selectionType !== undefined && isRecord(value)) {
    return field.weight + objectCost(walk, value, sets, typeNamed(walk.c.model, field.selectionType));
  }
  return field.weight;
}

function collectFields(
  walk: ResponseWalk,
  sets: readonly SelectionSetNode[],
  scope: TypeCostInfo,
  runtime: TypeCostInfo | undefined,
): Map<string, CollectedField[]> {
  const out = new Map<string, CollectedField[]>();
  const seen = new Set<string>();
  const collect = (set: SelectionSetNode, currentScope: TypeCostInfo) => {
    for (const selection of set.selections) {
      if (!isIncluded(selection, walk.c.variableDefaults, walk.variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const entry = { node: selection, scope: runtime ?? currentScope };
        const list = out.get(key);
        if (list) list.push(entry);
        else out.set(key, [entry]);
        continue;
      }
      let fragmentSet: SelectionSetNode;
      let condition: TypeCostInfo;
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        if (seen.has(selection.name.value)) continue;
        seen.add(selection.name.value);
        const fragment = fragmentNamed(walk.c, selection.name.value);
        fragmentSet = fragment.selectionSet;
        condition = typeNamed(walk.c.model, fragment.typeCondition.name.value);
      } else {
        fragmentSet = selection.selectionSet;
        condition = selection.typeCondition
          ? typeNamed(walk.c.model, selection.typeCondition.name.value)
          : currentScope;
      }
      if (runtime && !appliesTo(condition, runtime)) continue;
      collect(fragmentSet, condition);
    }
  };
  for (const set of sets) collect(set, scope);
  return out;
}
