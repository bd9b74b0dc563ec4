/**
 * Compiling an operation for costing (the rules are in estimate.ts): one walk of the selected operation, fragment
 * spreads expanded, that folds everything not depending on variables into numbers as soon as it is built and keeps
 * the rest as a small expression (plan.ts). Every selection and argument value visited counts towards `maxVisits`,
 * so a fragment bomb is refused after that many steps instead of after 2^n.
 */
import {
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { conditionsOf } from '../document/conditions';
import { fragmentsOf } from '../document/fragments';
import { argumentValue, variableDefaults, type VariableRef } from '../document/variables';
import type { ListSize } from './directives';
import {
  appliesTo,
  fieldNamed,
  rootType,
  typeNamed,
  type CostModel,
  type FieldCostInfo,
  type InputCost,
  type TypeCostInfo,
} from './model';
import {
  CostVisitLimitError,
  DEFAULT_LIST_SIZE,
  DEFAULT_MAX_VISITS,
  MUTATION_FIELD_WEIGHT,
  leafOf,
  sizeFrom,
  type CompileOptions,
  type CostPlan,
  type Count,
  type DynamicExpr,
  type DynamicSize,
  type Expr,
  type Size,
} from './plan';

export interface Compiler {
  readonly model: CostModel;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly variableDefaults: ReadonlyMap<string, unknown>;
  readonly defaultListSize: number;
  readonly maxVisits: number;
  /** Whether a fragment narrows to another type somewhere, by fragment name. */
  readonly narrowing: Map<string, boolean>;
  visits: number;
}

export function newCompiler(
  model: CostModel,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  options: CompileOptions,
): Compiler {
  return {
    model,
    fragments: fragmentsOf(document),
    variableDefaults: variableDefaults(operation),
    defaultListSize: options.defaultListSize ?? DEFAULT_LIST_SIZE,
    maxVisits: options.maxVisits ?? DEFAULT_MAX_VISITS,
    narrowing: new Map(),
    visits: 0,
  };
}

function visit(c: Compiler): void {
  c.visits += 1;
  if (c.visits > c.maxVisits) throw new CostVisitLimitError(c.visits, c.maxVisits);
}

/** Compiles one operation of a validated document. Throws `CostVisitLimitError` or `CostInputError`. */
export function compileCostPlan(
  model: CostModel,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  options: CompileOptions = {},
): CostPlan {
  const c = newCompiler(model, document, operation, options);
  const expr = compileSelectionSet(c, operation.selectionSet, rootType(model, operation), undefined);
  return { model, document, operation, expr, visits: c.visits };
}

export function fragmentNamed(c: Compiler, name: string): FragmentDefinitionNode {
  const fragment = c.fragments.get(name);
  if (!fragment) throw new Error(`the document has no fragment ${name}`);
  return fragment;
}

// --- folding constructors: a subtree without variables becomes a number as soon as it is built ---

function sum(parts: readonly Expr[]): Expr {
  let constant = 0;
  const terms: DynamicExpr[] = [];
  for (const part of parts) {
    if (typeof part === 'number') constant += part;
    else if (part.kind === 'sum') {
      constant += part.constant;
      terms.push(...part.terms);
    } else terms.push(part);
  }
  return terms.length === 0 ? constant : { kind: 'sum', constant, terms };
}

function max(options: readonly Expr[]): Expr {
  if (options.length === 0) return 0;
  if (options.every((o): o is number => typeof o === 'number')) return Math.max(...options);
  return { kind: 'max', options };
}

function times(count: Count, each: Expr, plus: Expr): Expr {
  if (typeof count === 'number' && typeof each === 'number' && typeof plus === 'number') return count * each + plus;
  if (typeof count === 'number' && typeof each === 'number') return sum([count * each, plus]);
  return { kind: 'times', count, each, plus };
}

function firstCount(sizes: readonly Size[], fallback: number): Count {
  const dynamic: DynamicSize[] = [];
  for (const size of sizes) {
    if (size === undefined) continue;
    if (typeof size === 'number')
      return dynamic.length === 0 ? size : { kind: 'first', sizes: dynamic, fallback: size };
    dynamic.push(size);
  }
  return dynamic.length === 0 ? fallback : { kind: 'first', sizes: dynamic, fallback };
}

// --- compiling ---

interface Sized {
  readonly fields: ReadonlySet<string>;
  readonly size: Size;
}

function compileSelectionSet(c: Compiler, set: SelectionSetNode, type: TypeCostInfo, sized: Sized | undefined): Expr {
  if (type.abstract && (type.costVaries || narrows(c, set, type))) {
    // A response object has one concrete type: charge the most expensive one.
    const options: Expr[] = [];
    for (const possible of type.possibleTypes)
      options.push(compileSelections(c, set, typeNamed(c.model, possible), sized));
    return max(options);
  }
  return compileSelections(c, set, type, sized);
}

function compileSelections(c: Compiler, set: SelectionSetNode, type: TypeCostInfo, sized: Sized | undefined): Expr {
  let constant = 0;
  let dynamic: Expr[] | undefined;
  for (const selection of set.selections) {
    visit(c);
    const conditions = conditionsOf(selection.directives, c.variableDefaults);
    if (conditions === 'skipped') continue;
    let expr: Expr;
    if (selection.kind === Kind.FIELD) expr = compileField(c, selection, type, sized);
    else {
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragmentNamed(c, selection.name.value) : selection;
      const condition = fragment.typeCondition ? typeNamed(c.model, fragment.typeCondition.name.value) : type;
      expr = compileFragment(c, fragment.selectionSet, condition, type, sized);
    }
    if (conditions.length > 0 && expr !== 0) expr = { kind: 'unless', conditions, expr };
    if (typeof expr === 'number') constant += expr;
    else (dynamic ??= []).push(expr);
  }
  return dynamic ? sum([constant, ...dynamic]) : constant;
}

function compileFragment(
  c: Compiler,
  set: SelectionSetNode,
  condition: TypeCostInfo,
  type: TypeCostInfo,
  sized: Sized | undefined,
): Expr {
  if (!type.abstract) return appliesTo(condition, type) ? compileSelections(c, set, type, sized) : 0;
  // Under an abstract type that does not narrow (see `narrows`), the condition is that same type.
  return compileSelectionSet(c, set, condition, sized);
}

/** Whether the selection set selects anything under a type condition other than `type` itself. */
function narrows(c: Compiler, set: SelectionSetNode, type: TypeCostInfo): boolean {
  for (const selection of set.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition?.name.value;
      if (condition !== undefined && condition !== type.name) return true;
      if (narrows(c, selection.selectionSet, type)) return true;
    } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const name = selection.name.value;
      const fragment = fragmentNamed(c, name);
      if (fragment.typeCondition.name.value !== type.name) return true;
      let known = c.narrowing.get(name);
      if (known === undefined) {
        // Marked before recursing: validation forbids cycles, and this keeps a broken document finite.
        c.narrowing.set(name, false);
        known = narrows(c, fragment.selectionSet, type);
        c.narrowing.set(name, known);
      }
      if (known) return true;
    }
  }
  return false;
}

function compileField(c: Compiler, node: FieldNode, type: TypeCostInfo, sized: Sized | undefined): Expr {
  const name = node.name.value;
  if (name === '__typename') return 0;
  const field = fieldNamed(type, name);
  const expected = field.listSize ? expectedSize(c, field, field.listSize, node) : undefined;
  const count = field.list
    ? firstCount([sized?.fields.has(name) ? sized.size : undefined, expected], c.defaultListSize)
    : 1;
  const children =
    node.selectionSet && field.selectionType
      ? compileSelectionSet(
          c,
          node.selectionSet,
          typeNamed(c.model, field.selectionType),
          field.sizedFields ? { fields: field.sizedFields, size: expected } : undefined,
        )
      : 0;
  const each = typeof children === 'number' ? field.weight + children : sum([field.weight, children]);
  return times(count, each, onceCost(c, node, type, field));
}

/**
 * What a field costs once, whatever the size of its list: the weights of its argument values, and for a root field
 * of a mutation the mutation weight.
 */
export function onceCost(c: Compiler, node: FieldNode, type: TypeCostInfo, field: FieldCostInfo): Expr {
  const parts: Expr[] = type.mutationRoot ? [MUTATION_FIELD_WEIGHT] : [];
  for (const argument of node.arguments ?? []) {
    const input = field.arguments.get(argument.name.value);
    if (input) parts.push(compileValue(c, argument.value, input));
  }
  return sum(parts);
}

/**
 * The size `@listSize` gives a field from its slicing arguments, each valued by the one rule of
 * document/variables.ts (literal, provided variable, operation default, argument default): a number when none is a
 * variable, else a size evaluated per request. A value that is not an integer is left out (the size falls back to
 * `assumedSize`); the limits stage has refused it already when list bounds are configured.
 */
function expectedSize(c: Compiler, field: FieldCostInfo, listSize: ListSize, node: FieldNode): Size {
  const slicing = listSize.slicingArguments ?? [];
  if (slicing.length === 0) return listSize.assumedSize;
  const constants: number[] = [];
  const variables: VariableRef[] = [];
  for (const name of slicing) {
    const argumentDefault = field.definition.args.find((a) => a.name === name)?.defaultValue;
    const argument = node.arguments?.find((a) => a.name.value === name);
    if (argument?.value.kind === Kind.VARIABLE) {
      const variable = argument.value.name.value;
      variables.push({ name: variable, operationDefault: c.variableDefaults.get(variable), argumentDefault });
      continue;
    }
    const value = argumentValue(argument?.value, argumentDefault, c.variableDefaults, NO_VARIABLES);
    if (Number.isSafeInteger(value)) constants.push(Math.max(0, value as number));
  }
  if (variables.length === 0)
    return sizeFrom(constants, listSize.assumedSize, listSize.requireOneSlicingArgument, field.key);
  return {
    kind: 'size',
    constants,
    variables,
    assumedSize: listSize.assumedSize,
    requireOne: listSize.requireOneSlicingArgument,
    where: field.key,
  };
}

const NO_VARIABLES: Readonly<Record<string, unknown>> = Object.freeze({});

/** Router's `score_argument`: input objects 1 unless weighed, lists their weight plus their items, scalars their weight. */
function compileValue(c: Compiler, value: ValueNode, input: InputCost): Expr {
  visit(c);
  switch (value.kind) {
    case Kind.VARIABLE:
      return {
        kind: 'input',
        variable: {
          name: value.name.value,
          operationDefault: c.variableDefaults.get(value.name.value),
          argumentDefault: undefined,
        },
        input,
      };
    case Kind.NULL:
      return 0;
    case Kind.LIST: {
      if (!input.item) return input.weight ?? 0;
      const item = input.item;
      return sum([input.weight ?? 0, ...value.values.map((v) => compileValue(c, v, item))]);
    }
    case Kind.OBJECT: {
      const leaf = leafOf(input);
      const fields = leaf.inputObject === undefined ? undefined : c.model.inputObjects.get(leaf.inputObject);
      if (!fields) return leaf.weight ?? 0;
      const parts: Expr[] = [leaf.weight ?? 1];
      for (const field of value.fields) {
        const definition = fields.get(field.name.value);
        if (definition) parts.push(compileValue(c, field.value, definition));
      }
      return sum(parts);
    }
    default:
      return leafOf(input).weight ?? 0;
  }
}
