/**
 * The reference policy (declarations.ts) checked against the supergraph once at startup, and what one operation
 * references under it.
 *
 * `collectReferences` reads argument values the way the executor will coerce them for an `ID`: a string as it is,
 * an integer as its decimal text; a variable that is absent takes its default. Anything else (a float, an object)
 * is refused by the executor's own variable coercion before any fetch, so it needs no check here. Fields under
 * `@skip`/`@include` are checked whatever the condition: a reference the operation might write is checked.
 */
import {
  Kind,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  isObjectType,
  isScalarType,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { ReferencePolicy } from './declarations';

/** One argument path of a root field that names an entity. */
interface ReferenceArgument {
  /** Argument name, then input-object field names. */
  readonly path: readonly string[];
  readonly entity: string;
}

export interface ReferencePlan {
  /** Operation kind (`query`, `mutation`) → root field name → the reference arguments of that field. */
  readonly fields: ReadonlyMap<string, ReadonlyMap<string, readonly ReferenceArgument[]>>;
  /** Entity type → the subgraph that knows which of its ids exist. */
  readonly owners: ReadonlyMap<string, string>;
}

/** One value an operation passes where the policy expects an entity's id. */
export interface ReferenceUse {
  /** The response key of the root field (its alias, or its name). */
  readonly responseKey: string;
  readonly entity: string;
  readonly id: string;
}

/**
 * Checks every line of `policy` against the API schema (the argument exists and is an `ID`) and the supergraph (the
 * owner resolves the entity by `id`), and throws naming each line that does not.
 */
export function planReferences(
  policy: ReferencePolicy,
  apiSchema: GraphQLSchema,
  supergraphSdl: string,
): ReferencePlan {
  const problems: string[] = [];
  const graphs = entityGraphs(parse(supergraphSdl, { noLocation: true }));
  const owners = new Map<string, string>();
  for (const [entity, owner] of Object.entries(policy.owners)) {
    if (!isObjectType(apiSchema.getType(entity))) problems.push(`owner of ${entity}: no such object type`);
    else if (!graphs.get(entity)?.has(owner))
      problems.push(`owner of ${entity}: ${owner} does not resolve it by @key(fields: "id")`);
    else owners.set(entity, owner);
  }

  const roots = new Map<string, string>();
  for (const [kind, type] of [
    ['query', apiSchema.getQueryType()],
    ['mutation', apiSchema.getMutationType()],
  ] as const) {
    if (type) roots.set(type.name, kind);
  }
  const fields = new Map<string, Map<string, ReferenceArgument[]>>();
  for (const [coordinate, entity] of Object.entries(policy.arguments)) {
    const [typeName = '', fieldName = '', ...path] = coordinate.split('.');
    const problem = argumentProblem(apiSchema, roots, typeName, fieldName, path);
    if (problem) problems.push(`${coordinate}: ${problem}`);
    else if (!owners.has(entity) && !problems.some((p) => p.startsWith(`owner of ${entity}:`)))
      problems.push(`${coordinate}: ${entity} has no owner`);
    else {
      const kind = roots.get(typeName) ?? '';
      const byField = fields.get(kind) ?? new Map<string, ReferenceArgument[]>();
      fields.set(kind, byField);
      byField.set(fieldName, [...(byField.get(fieldName) ?? []), { path, entity }]);
    }
  }
  if (problems.length > 0)
    throw new Error(`the reference policy does not match the supergraph: ${problems.join('; ')}`);
  return { fields, owners };
}

function argumentProblem(
  schema: GraphQLSchema,
  roots: ReadonlyMap<string, string>,
  typeName: string,
  fieldName: string,
  path: readonly string[],
): string | undefined {
  if (!roots.has(typeName)) return 'not a root operation type of the schema';
  const type = schema.getType(typeName);
  const field = isObjectType(type) ? type.getFields()[fieldName] : undefined;
  if (!field) return 'no such field';
  const [argumentName, ...inner] = path;
  let current: GraphQLInputType | undefined = field.args.find((arg) => arg.name === argumentName)?.type;
  if (!current) return 'no such argument';
  for (const name of inner) {
    const named: GraphQLInputType = getNullableType(current);
    current = isInputObjectType(named) ? named.getFields()[name]?.type : undefined;
    if (!current) return `no input field ${name}`;
  }
  const nullable = getNullableType(current);
  if (isListType(nullable) || !isScalarType(nullable) || getNamedType(nullable).name !== 'ID')
    return 'not an ID (lists are not supported)';
  return undefined;
}

/** Entity type → the subgraphs that resolve it by `@key(fields: "id")`, read from the supergraph's `@join__type`. */
function entityGraphs(supergraph: DocumentNode): Map<string, Set<string>> {
  const graphNames = new Map<string, string>();
  for (const definition of supergraph.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const name = value.directives
        ?.find((d) => d.name.value === 'join__graph')
        ?.arguments?.find((a) => a.name.value === 'name')?.value;
      if (name?.kind === Kind.STRING) graphNames.set(value.name.value, name.value);
    }
  }
  const out = new Map<string, Set<string>>();
  for (const definition of supergraph.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'join__type') continue;
      const arg = (name: string) => directive.arguments?.find((a) => a.name.value === name)?.value;
      const graph = arg('graph');
      const key = arg('key');
      const resolvable = arg('resolvable');
      if (graph?.kind !== Kind.ENUM || key?.kind !== Kind.STRING || key.value.trim() !== 'id') continue;
      if (resolvable?.kind === Kind.BOOLEAN && !resolvable.value) continue;
      const name = graphNames.get(graph.value);
      if (name) out.set(definition.name.value, (out.get(definition.name.value) ?? new Set()).add(name));
    }
  }
  return out;
}

/**
 * The entity ids `operation`'s root fields pass where `plan` expects references, in document order. Only the root
 * selection set (and fragments spread into it) is read: the policy names root fields only.
 */
export function collectReferences(
  plan: ReferencePlan,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): ReferenceUse[] {
  const byField = plan.fields.get(operation.operation);
  if (!byField) return [];

  const defaults = new Map<string, ValueNode>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) defaults.set(definition.variable.name.value, definition.defaultValue);
  }
  let fragments: Map<string, FragmentDefinitionNode> | undefined;
  const fragmentNamed = (name: string) => {
    fragments ??= new Map(
      document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    return fragments.get(name);
  };

  const uses: ReferenceUse[] = [];
  const visited = new Set<string>();
  const walk = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = visited.has(selection.name.value) ? undefined : fragmentNamed(selection.name.value);
        visited.add(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      } else {
        for (const { path, entity } of byField.get(selection.name.value) ?? []) {
          const [argumentName, ...inner] = path;
          const argument = selection.arguments?.find((arg) => arg.name.value === argumentName);
          const id = argument ? idAt(argument.value, inner, variables, defaults) : undefined;
          if (id !== undefined) uses.push({ responseKey: selection.alias?.value ?? selection.name.value, entity, id });
        }
      }
    }
  };
  walk(operation.selectionSet);
  return uses;
}

function idAt(
  node: ValueNode,
  path: readonly string[],
  variables: Readonly<Record<string, unknown>>,
  defaults: ReadonlyMap<string, ValueNode>,
): string | undefined {
  if (node.kind === Kind.VARIABLE) {
    const name = node.name.value;
    if (Object.hasOwn(variables, name)) return rawIdAt(variables[name], path);
    const fallback = defaults.get(name);
    return fallback ? idAt(fallback, path, variables, defaults) : undefined;
  }
  const [head, ...rest] = path;
  if (head === undefined) {
    if (node.kind === Kind.STRING || node.kind === Kind.INT) return node.value;
    return undefined;
  }
  if (node.kind !== Kind.OBJECT) return undefined;
  const field = node.fields.find((f) => f.name.value === head);
  return field ? idAt(field.value, rest, variables, defaults) : undefined;
}

function rawIdAt(value: unknown, path: readonly string[]): string | undefined {
  let current = value;
  for (const name of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, name))
      return undefined;
    current = (current as Record<string, unknown>)[name];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' && Number.isInteger(current)) return String(current);
  return undefined;
}
