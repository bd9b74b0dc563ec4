/**
 * Static cost of an operation, after the IBM GraphQL cost specification with Apollo Router's defaults, and the
 * actual cost of the response it produced.
 *
 * Weights: a field of object, interface or union type costs 1, of scalar or enum type 0, unless `@cost` on the
 * field (or on its type) says otherwise; `__typename` is free. A list field costs its size times what one item
 * costs; the size comes from the `@listSize` of the field, or of its parent when the field is one of the parent's
 * `sizedFields` (a connection's `edges`), else the configured default. Slicing arguments may be literals,
 * variables, or the argument's default. Argument values add the weights of their arguments and input fields
 * (an input object counts 1 unless weighed). Each root field of a mutation adds 10.
 *
 * Where this deliberately differs from Apollo Router (1.x/2.x static estimator):
 * - Router adds 10 once per mutation operation; this adds 10 per mutation root field, because each is a separate
 *   side effect run in series. A one-field mutation costs the same in both.
 * - Router sums the fragments under an abstract type; a response object has exactly one concrete type, so this takes
 *   the maximum over the possible types of everything that applies to that type. Still an upper bound, tighter.
 *   The same maximum is taken, fragments or not, under an interface some implementation of which weighs a field
 *   differently (Router uses the interface's weights there, which can underestimate).
 * - Router adds the cost of `@requires` selections; this does not (the gateway fetches them, but they are fields of
 *   the same entity already weighed by the entity's own fields).
 * Like Router, a fragment spread twice is counted twice and equal selections are not merged: an estimate is an
 * upper bound, and the actual cost computed from the response refunds the difference.
 *
 * Work is bounded: compiling an operation counts every selection and argument value it visits, fragment spreads
 * expanded, and gives up past `maxVisits` — a fragment bomb is refused after that many steps instead of after 2^n.
 * The variable-independent part of an operation is folded into numbers once and cached per query hash and operation
 * name; what depends on variables (slicing arguments, `@skip`/`@include`, weighed argument values) stays a small
 * expression evaluated per request.
 */
import {
  buildASTSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInputObjectType,
  isListType,
  isUnionType,
  Kind,
  parse,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { argumentKey, fieldKey, readCostDirectives, type CostDirectives, type ListSize } from './directives';
import { createByteBoundedCache, documentBytes, type CacheStats } from '../cache';

/** How an argument value or input field is weighed. */
export interface InputCost {
  /** `@cost` of the argument or input field, else of its type. */
  readonly weight: number | undefined;
  /** For a list: how its items are weighed (Router's rule: with the list's own weight). */
  readonly item: InputCost | undefined;
  /** For an input object: its name, under which its fields are indexed. */
  readonly inputObject: string | undefined;
}

export interface FieldCostInfo {
  /** `Type.field`. */
  readonly key: string;
  readonly definition: GraphQLField<unknown, unknown>;
  /** The composite type of its selections; undefined for a scalar or enum field. */
  readonly selectionType: string | undefined;
  readonly list: boolean;
  /** The field's `@cost`, else its type's, else 1 for an object, interface or union and 0 for a scalar or enum. */
  readonly weight: number;
  readonly listSize: ListSize | undefined;
  readonly sizedFields: ReadonlySet<string> | undefined;
  readonly arguments: ReadonlyMap<string, InputCost>;
}

export interface TypeCostInfo {
  readonly name: string;
  readonly abstract: boolean;
  /** For an abstract type, its possible object types. */
  readonly possibleTypes: ReadonlySet<string>;
  /**
   * For an interface: whether some implementation weighs one of its fields differently from the interface. A
   * selection on it is then costed per possible type even without type conditions, so the estimate stays an
   * upper bound.
   */
  readonly costVaries: boolean;
  readonly fields: ReadonlyMap<string, FieldCostInfo>;
  readonly mutationRoot: boolean;
}

/**
 * What estimates are computed against: the supergraph's types with every weight resolved up front, so estimating
 * does no schema lookups and no type checks (graphql-js's checks are slow outside NODE_ENV=production).
 */
export interface CostModel {
  readonly schema: GraphQLSchema;
  readonly directives: CostDirectives;
  readonly types: ReadonlyMap<string, TypeCostInfo>;
  readonly inputObjects: ReadonlyMap<string, ReadonlyMap<string, InputCost>>;
}

/**
 * Builds the model from the supergraph SDL. Its schema is a superset of the API schema (join types, inaccessible
 * fields), which is all the estimator needs: operations were validated against the API schema before.
 */
export function createCostModel(supergraphSdl: string | DocumentNode): CostModel {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl) : supergraphSdl;
  const schema = buildASTSchema(document, { assumeValidSDL: true });
  const directives = readCostDirectives(document);

  const inputCost = (type: GraphQLInputType, explicit: number | undefined): InputCost => {
    const weight = explicit ?? directives.types.get(getNamedType(type).name);
    const nullable = getNullableType(type);
    if (isListType(nullable)) return { weight, item: inputCost(nullable.ofType as GraphQLInputType, weight), inputObject: undefined };
    return { weight, item: undefined, inputObject: isInputObjectType(nullable) ? nullable.name : undefined };
  };

  const fieldsOf = new Map<string, ReadonlyMap<string, FieldCostInfo>>();
  const inputObjects = new Map<string, ReadonlyMap<string, InputCost>>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (isInputObjectType(type)) {
      const fields = new Map<string, InputCost>();
      for (const field of Object.values(type.getFields())) {
        fields.set(field.name, inputCost(field.type, directives.inputFields.get(fieldKey(type.name, field.name))));
      }
      inputObjects.set(type.name, fields);
      continue;
    }
    if (!isCompositeType(type)) continue;
    const definitions: GraphQLField<unknown, unknown>[] = isUnionType(type) ? [] : Object.values(type.getFields());
    if (type === schema.getQueryType()) definitions.push(SchemaMetaFieldDef, TypeMetaFieldDef);
    const fields = new Map<string, FieldCostInfo>();
    for (const definition of definitions) {
      const key = fieldKey(type.name, definition.name);
      const declared = directives.fields.get(key);
      const named = getNamedType(definition.type);
      const composite = isCompositeType(named);
      const args = new Map<string, InputCost>();
      for (const argument of definition.args) {
        args.set(argument.name, inputCost(argument.type, directives.arguments.get(argumentKey(type.name, definition.name, argument.name))));
      }
      fields.set(definition.name, {
        key,
        definition,
        selectionType: composite ? named.name : undefined,
        list: isListType(getNullableType(definition.type)),
        weight: declared?.weight ?? directives.types.get(named.name) ?? (composite ? 1 : 0),
        listSize: declared?.listSize,
        sizedFields: declared?.listSize?.sizedFields ? new Set(declared.listSize.sizedFields) : undefined,
        arguments: args,
      });
    }
    fieldsOf.set(type.name, fields);
  }

  const types = new Map<string, TypeCostInfo>();
  for (const [name, fields] of fieldsOf) {
    const type = schema.getType(name);
    const abstract = isAbstractType(type);
    const possibleTypes = new Set(abstract ? schema.getPossibleTypes(type).map((t) => t.name) : []);
    types.set(name, {
      name,
      abstract,
      possibleTypes,
      costVaries: [...possibleTypes].some((possible) =>
        [...fields].some(([field, cost]) => !sameCost(cost, fieldsOf.get(possible)?.get(field))),
      ),
      fields,
      mutationRoot: type === schema.getMutationType(),
    });
  }
  return { schema, directives, types, inputObjects };
}

function sameCost(a: FieldCostInfo, b: FieldCostInfo | undefined): boolean {
  if (!b || a.weight !== b.weight || JSON.stringify(a.listSize) !== JSON.stringify(b.listSize)) return false;
  return [...a.arguments].every(([name, input]) => JSON.stringify(input) === JSON.stringify(b.arguments.get(name)));
}

/** Apollo Router's documented example value; a list without `@listSize` is assumed to hold this many items. */
export const DEFAULT_LIST_SIZE = 10;
/** Far above real operations (tens to a few hundred visits), low enough to stay around a millisecond of work. */
export const DEFAULT_MAX_VISITS = 20_000;
export const MUTATION_FIELD_WEIGHT = 10;
const MAX_INPUT_DEPTH = 64;

/** The operation is larger, once fragments are expanded, than the estimator agrees to walk. */
export class CostVisitLimitError extends Error {
  constructor(
    readonly visits: number,
    readonly limit: number,
  ) {
    super(`the operation expands to more than ${limit} selections`);
    this.name = 'CostVisitLimitError';
  }
}

/** The operation's arguments or variables cannot be costed (e.g. no slicing argument where one is required). */
export class CostInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostInputError';
  }
}

type Variables = Readonly<Record<string, unknown>>;

interface VariableRef {
  readonly name: string;
  /** The operation's `$name: Int = 5`, as a plain value. */
  readonly operationDefault: unknown;
  /** The field argument's own default, used when the variable is not provided and has no default. */
  readonly argumentDefault: unknown;
}

/** `@skip(if: $v)` (skipWhen true) or `@include(if: $v)` (skipWhen false). */
interface Condition {
  readonly variable: VariableRef;
  readonly skipWhen: boolean;
}

/** The size `@listSize` gives when a slicing argument is a variable. */
interface DynamicSize {
  readonly kind: 'size';
  readonly constants: readonly number[];
  readonly variables: readonly VariableRef[];
  readonly assumedSize: number | undefined;
  readonly requireOne: boolean;
  readonly where: string;
}

type Size = number | DynamicSize | undefined;

/** The first size that has a value, else the fallback. */
type Count = number | { readonly kind: 'first'; readonly sizes: readonly DynamicSize[]; readonly fallback: number };

type Expr = number | DynamicExpr;
type DynamicExpr =
  | { readonly kind: 'sum'; readonly constant: number; readonly terms: readonly DynamicExpr[] }
  | { readonly kind: 'max'; readonly options: readonly Expr[] }
  | { readonly kind: 'times'; readonly count: Count; readonly each: Expr; readonly plus: Expr }
  | { readonly kind: 'unless'; readonly conditions: readonly Condition[]; readonly expr: Expr }
  | { readonly kind: 'input'; readonly variable: VariableRef; readonly input: InputCost };

/** An operation compiled for costing: a number when no variable matters, otherwise a small expression. */
export interface CostPlan {
  readonly model: CostModel;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly expr: Expr;
  /** Selections and argument values visited while compiling, fragment spreads expanded. */
  readonly visits: number;
}

export interface CompileOptions {
  readonly defaultListSize?: number;
  readonly maxVisits?: number;
}

interface Compiler {
  readonly model: CostModel;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly variableDefaults: ReadonlyMap<string, unknown>;
  readonly defaultListSize: number;
  readonly maxVisits: number;
  /** Whether a fragment narrows to another type somewhere, by fragment name. */
  readonly narrowing: Map<string, boolean>;
  visits: number;
}

function newCompiler(model: CostModel, document: DocumentNode, operation: OperationDefinitionNode, options: CompileOptions): Compiler {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const variableDefaults = new Map<string, unknown>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) variableDefaults.set(definition.variable.name.value, valueFromASTUntyped(definition.defaultValue));
  }
  return {
    model,
    fragments,
    variableDefaults,
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

function rootType(model: CostModel, operation: OperationDefinitionNode): TypeCostInfo {
  const root = model.schema.getRootType(operation.operation);
  const type = root && model.types.get(root.name);
  if (!type) throw new Error(`the cost model's schema has no ${operation.operation} type`);
  return type;
}

function typeNamed(model: CostModel, name: string): TypeCostInfo {
  const type = model.types.get(name);
  // Validation against the API schema ran first; a miss means the model was built from another supergraph.
  if (!type) throw new Error(`the cost model's schema has no composite type ${name}`);
  return type;
}

function fieldNamed(type: TypeCostInfo, name: string): FieldCostInfo {
  const field = type.fields.get(name);
  if (!field) throw new Error(`the cost model's schema has no field ${type.name}.${name}`);
  return field;
}

function fragmentNamed(c: Compiler, name: string): FragmentDefinitionNode {
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
    if (typeof size === 'number') return dynamic.length === 0 ? size : { kind: 'first', sizes: dynamic, fallback: size };
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
    for (const possible of type.possibleTypes) options.push(compileSelections(c, set, typeNamed(c.model, possible), sized));
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

function compileFragment(c: Compiler, set: SelectionSetNode, condition: TypeCostInfo, type: TypeCostInfo, sized: Sized | undefined): Expr {
  if (!type.abstract) return appliesTo(condition, type) ? compileSelections(c, set, type, sized) : 0;
  // Under an abstract type that does not narrow (see `narrows`), the condition is that same type.
  return compileSelectionSet(c, set, condition, sized);
}

function appliesTo(condition: TypeCostInfo, type: TypeCostInfo): boolean {
  return condition === type || condition.possibleTypes.has(type.name);
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
  const count = field.list ? firstCount([sized?.fields.has(name) ? sized.size : undefined, expected], c.defaultListSize) : 1;
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
function onceCost(c: Compiler, node: FieldNode, type: TypeCostInfo, field: FieldCostInfo): Expr {
  const parts: Expr[] = type.mutationRoot ? [MUTATION_FIELD_WEIGHT] : [];
  for (const argument of node.arguments ?? []) {
    const input = field.arguments.get(argument.name.value);
    if (input) parts.push(compileValue(c, argument.value, input));
  }
  return sum(parts);
}

function expectedSize(c: Compiler, field: FieldCostInfo, listSize: ListSize, node: FieldNode): Size {
  const slicing = listSize.slicingArguments ?? [];
  if (slicing.length === 0) return listSize.assumedSize;
  const constants: number[] = [];
  const variables: VariableRef[] = [];
  for (const name of slicing) {
    const argumentDefault = field.definition.args.find((a) => a.name === name)?.defaultValue;
    const argument = node.arguments?.find((a) => a.name.value === name);
    if (!argument) {
      if (Number.isSafeInteger(argumentDefault)) constants.push(Math.max(0, argumentDefault as number));
    } else if (argument.value.kind === Kind.INT) {
      constants.push(Math.max(0, Number.parseInt(argument.value.value, 10)));
    } else if (argument.value.kind === Kind.VARIABLE) {
      const variable = argument.value.name.value;
      variables.push({ name: variable, operationDefault: c.variableDefaults.get(variable), argumentDefault });
    }
  }
  if (variables.length === 0) return sizeFrom(constants, listSize.assumedSize, listSize.requireOneSlicingArgument, field.key);
  return {
    kind: 'size',
    constants,
    variables,
    assumedSize: listSize.assumedSize,
    requireOne: listSize.requireOneSlicingArgument,
    where: field.key,
  };
}

function sizeFrom(values: readonly number[], assumedSize: number | undefined, requireOne: boolean, where: string): number | undefined {
  if (requireOne && values.length !== 1) {
    throw new CostInputError(`${where} needs exactly one slicing argument, got ${values.length}`);
  }
  return values.length === 0 ? assumedSize : Math.max(...values);
}

/** The innermost item of a list input: a single value where a list is expected is coerced into a list of one. */
function leafOf(input: InputCost): InputCost {
  let leaf = input;
  while (leaf.item) leaf = leaf.item;
  return leaf;
}

/** Router's `score_argument`: input objects 1 unless weighed, lists their weight plus their items, scalars their weight. */
function compileValue(c: Compiler, value: ValueNode, input: InputCost): Expr {
  visit(c);
  switch (value.kind) {
    case Kind.VARIABLE:
      return {
        kind: 'input',
        variable: { name: value.name.value, operationDefault: c.variableDefaults.get(value.name.value), argumentDefault: undefined },
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

const NO_CONDITIONS: readonly Condition[] = [];

function conditionsOf(
  directives: readonly (DirectiveNode | ConstDirectiveNode)[] | undefined,
  variableDefaults: ReadonlyMap<string, unknown>,
): readonly Condition[] | 'skipped' {
  if (!directives || directives.length === 0) return NO_CONDITIONS;
  const conditions: Condition[] = [];
  for (const directive of directives) {
    const skipWhen = directive.name.value === 'skip' ? true : directive.name.value === 'include' ? false : undefined;
    if (skipWhen === undefined) continue;
    const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    if (value?.kind === Kind.BOOLEAN) {
      if (value.value === skipWhen) return 'skipped';
    } else if (value?.kind === Kind.VARIABLE) {
      const name = value.name.value;
      conditions.push({ variable: { name, operationDefault: variableDefaults.get(name), argumentDefault: undefined }, skipWhen });
    }
  }
  return conditions;
}

// --- evaluating with the request's variables ---

/** GraphQL's rules: a provided value wins (null included), then the operation's default, then the argument's. */
function resolveVariable(ref: VariableRef, variables: Variables): unknown {
  if (Object.hasOwn(variables, ref.name)) return variables[ref.name];
  return ref.operationDefault !== undefined ? ref.operationDefault : ref.argumentDefault;
}

function isSkipped(conditions: readonly Condition[], variables: Variables): boolean {
  return conditions.some((condition) => resolveVariable(condition.variable, variables) === condition.skipWhen);
}

function evaluateSize(size: DynamicSize, variables: Variables): number | undefined {
  const values = [...size.constants];
  for (const ref of size.variables) {
    const value = resolveVariable(ref, variables);
    if (Number.isSafeInteger(value)) values.push(Math.max(0, value as number));
  }
  return sizeFrom(values, size.assumedSize, size.requireOne, size.where);
}

function evaluateCount(count: Count, variables: Variables): number {
  if (typeof count === 'number') return count;
  for (const size of count.sizes) {
    const value = evaluateSize(size, variables);
    if (value !== undefined) return value;
  }
  return count.fallback;
}

function evaluate(expr: Expr, model: CostModel, variables: Variables): number {
  if (typeof expr === 'number') return expr;
  switch (expr.kind) {
    case 'sum':
      return expr.terms.reduce((total, term) => total + evaluate(term, model, variables), expr.constant);
    case 'max':
      return Math.max(...expr.options.map((option) => evaluate(option, model, variables)));
    case 'times':
      return evaluateCount(expr.count, variables) * evaluate(expr.each, model, variables) + evaluate(expr.plus, model, variables);
    case 'unless':
      return isSkipped(expr.conditions, variables) ? 0 : evaluate(expr.expr, model, variables);
    case 'input':
      return inputCost(model, resolveVariable(expr.variable, variables), expr.input, 0);
  }
}

/** The cost of a variable's value, by the same rules as a literal (Router's `score_variable`). */
function inputCost(model: CostModel, value: unknown, input: InputCost, depth: number): number {
  // Recursive input types would otherwise let a deeply nested JSON value exhaust the stack.
  if (depth > MAX_INPUT_DEPTH) throw new CostInputError('a variable is nested too deeply');
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) {
    // An array where no list is expected fails coercion later; until then it costs what a scalar would.
    const item = input.item;
    if (!item) return input.weight ?? 0;
    return value.reduce<number>((total, element) => total + inputCost(model, element, item, depth + 1), input.weight ?? 0);
  }
  const leaf = leafOf(input);
  const fields = leaf.inputObject === undefined ? undefined : model.inputObjects.get(leaf.inputObject);
  if (typeof value !== 'object' || !fields) return leaf.weight ?? 0;
  let total = leaf.weight ?? 1;
  for (const [key, element] of Object.entries(value)) {
    const definition = fields.get(key);
    if (definition) total += inputCost(model, element, definition, depth + 1);
  }
  return total;
}

/** The estimate for one request: the plan with the request's variables applied. */
export function evaluateCostPlan(plan: CostPlan, variables: Variables): number {
  return evaluate(plan.expr, plan.model, variables);
}

// --- the per-gateway estimator, with its cache of compiled operations ---

export interface CostEstimatorOptions extends CompileOptions {
  readonly model: CostModel;
  /** Compiled operations kept, least recently used dropped first. */
  readonly cacheEntries?: number;
  /** Estimated heap bytes the compiled operations (and their documents) may take. */
  readonly cacheBytes?: number;
}

/** What an estimate needs of a request; a `ResolvedOperation` is one. */
export interface EstimateRequest {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | null;
  /** SHA-256 of the query text: equal hashes mean equal documents. */
  readonly queryHash: string;
  readonly variables: Variables;
}

export interface CostEstimate {
  readonly cost: number;
  readonly plan: CostPlan;
  /** Whether the compiled operation came from the cache. */
  readonly cached: boolean;
}

export interface CostEstimator {
  readonly model: CostModel;
  /** Throws `CostVisitLimitError` or `CostInputError`; both are remembered, so a refused document stays cheap. */
  estimate(request: EstimateRequest): CostEstimate;
  /** The cache of compiled operations, in estimated bytes. */
  cacheMemory(): CacheStats;
}

const DEFAULT_CACHE_BYTES = 8 * 1_048_576;
/** A remembered refusal: the error and its captured stack. */
const ERROR_BYTES = 2_048;
/** One visited selection's share of the folded expression. */
const VISIT_BYTES = 48;

/** What a cached compilation keeps alive: the document it was compiled from, and the folded expression. */
function costEntryBytes(entry: CostPlan | CostVisitLimitError | CostInputError): number {
  return entry instanceof Error ? ERROR_BYTES : documentBytes(entry.document) + entry.visits * VISIT_BYTES;
}

export function createCostEstimator(options: CostEstimatorOptions): CostEstimator {
  const cache = createByteBoundedCache<CostPlan | CostVisitLimitError | CostInputError>({
    name: 'cost',
    maxBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
    maxEntries: options.cacheEntries ?? 1_000,
    sizeOf: costEntryBytes,
  });
  return {
    model: options.model,
    estimate(request) {
      const key = `${request.queryHash}\n${request.operationName ?? ''}`;
      let entry = cache.get(key);
      const cached = entry !== undefined;
      if (entry === undefined) {
        try {
          entry = compileCostPlan(options.model, request.document, request.operation, options);
        } catch (error) {
          if (!(error instanceof CostVisitLimitError || error instanceof CostInputError)) throw error;
          entry = error;
        }
        cache.set(key, entry);
      }
      if (entry instanceof Error) throw entry;
      return { cost: evaluateCostPlan(entry, request.variables), plan: entry, cached };
    },
    cacheMemory: () => cache.stats(),
  };
}

// --- actual cost, from the response ---

interface ResponseWalk {
  readonly c: Compiler;
  readonly variables: Variables;
  /**
   * Every object of a list is walked with the same selection sets: their fields are collected once per sets and
   * runtime type, and the child sets of a collected field are built once, so that the child sets keep their
   * identity as keys here.
   */
  readonly collected: WeakMap<readonly SelectionSetNode[], Map<TypeCostInfo | undefined, Map<string, CollectedField[]>>>;
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

function objectCost(walk: ResponseWalk, data: Record<string, unknown>, sets: readonly SelectionSetNode[], type: TypeCostInfo): number {
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

function valueCost(walk: ResponseWalk, value: unknown, field: FieldCostInfo, sets: readonly SelectionSetNode[]): number {
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
      const conditions = conditionsOf(selection.directives, walk.c.variableDefaults);
      if (conditions === 'skipped' || isSkipped(conditions, walk.variables)) continue;
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
        condition = selection.typeCondition ? typeNamed(walk.c.model, selection.typeCondition.name.value) : currentScope;
      }
      if (runtime && !appliesTo(condition, runtime)) continue;
      collect(fragmentSet, condition);
    }
  };
  for (const set of sets) collect(set, scope);
  return out;
}
